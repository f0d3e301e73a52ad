// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.sys;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.C_INT;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.C_LONG;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.C_POINTER;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCall;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.kvm.bindings.Syscall;
import dev.vmm4j.kvm.bindings.epoll_event;
import dev.vmm4j.kvm.bindings.itimerspec;
import dev.vmm4j.kvm.bindings.sockaddr_un;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The libc calls vmm4j makes, each failing with a {@link NativeCallException} that names the call and errno (or, for
 * the transfers on the hot path, returning {@code -errno}). Low level: for modules built on vmm-api, such as the
 * virtio block device's image files; each method says what the caller must guarantee.
 *
 * <p>The calls every VM makes go through {@link NativeCall#syscall}, which passes a pointer as a bare address: the
 * memory a segment argument points to must stay open until the call returns. A segment of an arena that another thread
 * may close (a shared arena) must not be closed during the call; FFM would refuse that close for a segment passed to a
 * downcall, but here nothing does.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class Libc {
    /** The kernel's sigset, which rt_sigtimedwait, rt_sigprocmask and KVM_SET_SIGNAL_MASK take: 64 signals. */
    public static final int KERNEL_SIGSET_BYTES = 8;

    // The calls every VM makes (open, close, mmap, munmap, eventfd, the signal calls) go through NativeCall.syscall,
    // one downcall stub for all of them (see Syscall). Each other call has a handle of its own in a holder class, so
    // it is made on the first call: making one spins method handle classes (3 to 10 ms each, which an AOT cache does
    // not keep), and a run makes a few of these calls, not all of them.

    private static final class Read {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("read", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_LONG));
    }

    private static final class Write {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("write", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_LONG));
    }

    /** pread with the buffer as a plain address, so a transfer into part of a mapping needs no slice object. */
    private static final class PreadAtAddress {
        static final MethodHandle HANDLE = NativeCall.errnoCapturing(
                "pread",
                FunctionDescriptor.of(
                        LinuxHeaders.C_LONG, C_INT, ValueLayout.JAVA_LONG, LinuxHeaders.C_LONG, LinuxHeaders.C_LONG));
    }

    private static final class PwriteAtAddress {
        static final MethodHandle HANDLE = NativeCall.errnoCapturing(
                "pwrite",
                FunctionDescriptor.of(
                        LinuxHeaders.C_LONG, C_INT, ValueLayout.JAVA_LONG, LinuxHeaders.C_LONG, LinuxHeaders.C_LONG));
    }

    private static final class Fsync {
        static final MethodHandle HANDLE = NativeCall.errnoCapturing("fsync", FunctionDescriptor.of(C_INT, C_INT));
    }

    private static final class Flock {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("flock", FunctionDescriptor.of(C_INT, C_INT, C_INT));
    }

    private static final class MemfdCreate {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("memfd_create", FunctionDescriptor.of(C_INT, C_POINTER, C_INT));
    }

    private static final class Ftruncate {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("ftruncate", FunctionDescriptor.of(C_INT, C_INT, C_LONG));
    }

    private static final class Madvise {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("madvise", FunctionDescriptor.of(C_INT, C_POINTER, C_LONG, C_INT));
    }

    private static final class EpollCreate1 {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("epoll_create1", FunctionDescriptor.of(C_INT, C_INT));
    }

    private static final class EpollCtl {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("epoll_ctl", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT, C_POINTER));
    }

    private static final class EpollWait {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("epoll_wait", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT, C_INT));
    }

    private static final class Readv {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("readv", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_INT));
    }

    private static final class Writev {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("writev", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_INT));
    }

    private static final class Recvmsg {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("recvmsg", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_INT));
    }

    private static final class Sendmsg {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("sendmsg", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_INT));
    }

    private static final class Lseek {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("lseek", FunctionDescriptor.of(C_LONG, C_INT, C_LONG, C_INT));
    }

    private static final class Poll {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("poll", FunctionDescriptor.of(C_INT, C_POINTER, C_LONG, C_INT));
    }

    private static final class Socket {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("socket", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT));
    }

    private static final class Socketpair {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("socketpair", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT, C_POINTER));
    }

    private static final class Fcntl {
        static final MethodHandle HANDLE = NativeCall.errnoCapturing(
                "fcntl", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT), Linker.Option.firstVariadicArg(2));
    }

    private static final class Setns {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("setns", FunctionDescriptor.of(C_INT, C_INT, C_INT));
    }

    // glibc declares the address arguments of bind, connect and accept4 as transparent unions of pointers, which the
    // ABI passes as the pointer itself.
    private static final class Bind {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("bind", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT));
    }

    private static final class Listen {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("listen", FunctionDescriptor.of(C_INT, C_INT, C_INT));
    }

    private static final class Accept4 {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("accept4", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_INT));
    }

    private static final class Connect {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("connect", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT));
    }

    private static final class Shutdown {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("shutdown", FunctionDescriptor.of(C_INT, C_INT, C_INT));
    }

    /** read and send with the buffer as a plain address, as {@link PreadAtAddress}. */
    private static final class ReadAtAddress {
        static final MethodHandle HANDLE = NativeCall.errnoCapturing(
                "read", FunctionDescriptor.of(LinuxHeaders.C_LONG, C_INT, ValueLayout.JAVA_LONG, LinuxHeaders.C_LONG));
    }

    private static final class SendAtAddress {
        static final MethodHandle HANDLE = NativeCall.errnoCapturing(
                "send",
                FunctionDescriptor.of(LinuxHeaders.C_LONG, C_INT, ValueLayout.JAVA_LONG, LinuxHeaders.C_LONG, C_INT));
    }

    private static final class TimerfdCreate {
        static final MethodHandle HANDLE =
                NativeCall.errnoCapturing("timerfd_create", FunctionDescriptor.of(C_INT, C_INT, C_INT));
    }

    private static final class TimerfdSettime {
        static final MethodHandle HANDLE = NativeCall.errnoCapturing(
                "timerfd_settime", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_POINTER, C_POINTER));
    }

    private Libc() {}

    /**
     * {@code open(path, flags | O_CLOEXEC)}; a failure names the path and ends with {@code hintOnFailure}.
     *
     * <p>For opening what exists, not for creating files: the mode argument is 0, so a file made with {@code O_CREAT}
     * would get no permission bits.
     *
     * @param path the file, encoded as UTF-8; relative to the working directory unless absolute
     * @param flags {@code O_*} flags such as {@code O_RDWR | O_NONBLOCK}; {@code O_CLOEXEC} is always added
     * @param hintOnFailure what the user can do about a failure, such as {@code "(needed to make a tap)"}
     * @return the new fd, which the caller owns and must close ({@link #close}, or hand to an {@link OwnedFd})
     * @throws NativeCallException if {@code open} fails
     */
    public static int open(String path, int flags, String hintOnFailure) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(hintOnFailure, "hintOnFailure");
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            fd = (int) NativeCall.syscall(
                    Syscall.OPENAT,
                    LinuxHeaders.AT_FDCWD(),
                    arena.allocateFrom(path).address(),
                    flags | LinuxHeaders.O_CLOEXEC(),
                    0,
                    0,
                    0);
        }
        if (fd < 0) {
            throw new NativeCallException("open " + path, -fd, hintOnFailure);
        }
        return fd;
    }

    /**
     * {@code close(fd)}. On Linux the fd is released even when this fails, so a failure must not be retried: by then
     * the number may belong to another file.
     *
     * @param fd an fd the caller owns; the caller must not use it afterwards
     * @throws NativeCallException if {@code close} fails ({@code EBADF}: not an open fd; {@code EIO}: an I/O error)
     */
    public static void close(int fd) {
        long result = NativeCall.syscall(Syscall.CLOSE, fd, 0, 0, 0, 0, 0);
        if (result < 0) {
            throw new NativeCallException("close", (int) -result);
        }
    }

    /**
     * {@code read(fd, buffer, buffer.byteSize())}: bytes read, or {@code -errno}. Allocates nothing.
     *
     * @param fd the fd to read; not closed
     * @param buffer native memory the kernel fills from its start, up to its whole size
     * @return bytes read (0 at end of file), or {@code -errno} ({@code -EAGAIN} when a non-blocking fd has nothing)
     */
    public static long read(int fd, MemorySegment buffer) {
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) Read.HANDLE.invokeExact(state, fd, buffer, buffer.byteSize());
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code write(fd, buffer, buffer.byteSize())}: bytes written, or {@code -errno}. Allocates nothing.
     *
     * @param fd the fd to write; not closed
     * @param buffer native memory holding the bytes to write, all of it
     * @return bytes written, which may be fewer than {@code buffer.byteSize()}, or {@code -errno} ({@code -EAGAIN}
     *     when a non-blocking fd has no room)
     */
    public static long write(int fd, MemorySegment buffer) {
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) Write.HANDLE.invokeExact(state, fd, buffer, buffer.byteSize());
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code pread(fd, memory + offset, length, position)} into part of a native segment, without making a slice of
     * it: bytes read (0 at end of file), or {@code -errno}. Allocates nothing.
     *
     * <p>The kernel writes through a raw address, which does not keep {@code memory} mapped during the call: the
     * caller must guarantee that {@code memory} is not unmapped before this returns (see {@link #nativeAddress}).
     *
     * @param fd the file to read; its own file offset is not used nor moved
     * @param memory native memory, such as a region of guest memory, that the bytes go into
     * @param offset where in {@code memory} the bytes go, in bytes from its start
     * @param length how many bytes to read at most
     * @param position where in the file to read from, in bytes
     * @return bytes read (0 at end of file, fewer than {@code length} near it), or {@code -errno}
     * @throws IndexOutOfBoundsException if {@code [offset, offset + length)} is not inside {@code memory}
     * @throws IllegalArgumentException if {@code memory} is not native
     * @throws IllegalStateException if {@code memory} was already unmapped (its scope is closed)
     */
    public static long pread(int fd, MemorySegment memory, long offset, long length, long position) {
        long address = nativeAddress(memory, offset, length);
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) PreadAtAddress.HANDLE.invokeExact(state, fd, address, length, position);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code pwrite(fd, memory + offset, length, position)} from part of a native segment, with the checks and the
     * caller's duty of {@link #pread(int, MemorySegment, long, long, long)}. Allocates nothing.
     *
     * @param fd the file to write; its own file offset is not used nor moved
     * @param memory native memory, such as a region of guest memory, that the bytes come from
     * @param offset where in {@code memory} the bytes start, in bytes from its start
     * @param length how many bytes to write
     * @param position where in the file to write, in bytes; the file grows if this passes its end
     * @return bytes written, which may be fewer than {@code length} (a full disk), or {@code -errno}
     * @throws IndexOutOfBoundsException if {@code [offset, offset + length)} is not inside {@code memory}
     * @throws IllegalArgumentException if {@code memory} is not native
     * @throws IllegalStateException if {@code memory} was already unmapped (its scope is closed)
     */
    public static long pwrite(int fd, MemorySegment memory, long offset, long length, long position) {
        long address = nativeAddress(memory, offset, length);
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) PwriteAtAddress.HANDLE.invokeExact(state, fd, address, length, position);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@return the address of byte {@code offset} of {@code memory}, for a transfer of {@code length} bytes there}
     *
     * <p>SAFETY: {@code [address, address + length)} lies inside {@code memory} (checked here), and {@code memory} is
     * mapped when this returns (its scope is checked here). Unlike a segment argument, a raw address does not keep the
     * scope alive during the call, and a range unmapped meanwhile may be mapped again for something else, so a late
     * transfer would write into unrelated memory rather than fail with EFAULT. What rules that out is the close order
     * of the memory's owner: the callers are device threads transferring to and from guest memory, and
     * {@code VirtualMachine.close()} stops and joins every vCPU and device thread before it unmaps guest memory (the
     * scope check turns a caller that breaks that order into an exception, short of a race with the unmap itself).
     */
    private static long nativeAddress(MemorySegment memory, long offset, long length) {
        if (!memory.isNative()) {
            throw new IllegalArgumentException("a raw-address transfer needs native memory, not " + memory);
        }
        if (!memory.scope().isAlive()) {
            throw new IllegalStateException("the memory of a transfer was already unmapped: " + memory);
        }
        Objects.checkFromIndexSize(offset, length, memory.byteSize());
        return memory.address() + offset;
    }

    /**
     * {@code fsync(fd)}: 0, or {@code -errno}. Blocks until the file's data and metadata reach the device.
     *
     * @param fd the file to flush; not closed
     * @return 0, or {@code -errno} ({@code -EIO} when a write back failed, {@code -EINVAL} for an fd that cannot sync)
     */
    public static int fsync(int fd) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) Fsync.HANDLE.invokeExact(state, fd);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code flock(fd, operation)}: 0, or {@code -errno} ({@code -EWOULDBLOCK} when {@code LOCK_NB} and held elsewhere).
     * The lock belongs to the open file, so it lasts until every fd sharing it is closed or {@code LOCK_UN}.
     *
     * @param fd the locked file; not closed
     * @param operation {@code LOCK_SH}, {@code LOCK_EX} or {@code LOCK_UN}, with {@code | LOCK_NB} to fail rather than
     *     wait
     * @return 0, or {@code -errno}
     */
    public static int flock(int fd, int operation) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) Flock.HANDLE.invokeExact(state, fd, operation);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code mmap(NULL, length, prot, flags, fd, offset)}, as a segment of {@code length} bytes owned by
     * {@code owner}: closing {@code owner} unmaps it.
     *
     * @param length the mapping's size in bytes, more than 0; the kernel rounds the mapping up to whole pages, the
     *     segment has exactly this size
     * @param prot {@code PROT_*} bits, such as {@code PROT_READ | PROT_WRITE}
     * @param flags {@code MAP_*} flags: {@code MAP_SHARED} or {@code MAP_PRIVATE}, with {@code MAP_ANONYMOUS} and
     *     others as needed
     * @param fd what to map, or -1 with {@code MAP_ANONYMOUS}; still owned by the caller, who may close it once this
     *     returns (the mapping keeps the file)
     * @param offset where in the file the mapping starts, in bytes; a multiple of the page size
     * @param owner the arena whose closing unmaps the memory; the segment is usable by the threads {@code owner}
     *     allows
     * @param what names the mapping in a failure, such as {@code "guest memory"}
     * @return the mapped memory
     * @throws NativeCallException if {@code mmap} fails, naming {@code what} and the length
     */
    @SuppressWarnings("restricted")
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset, Arena owner, String what) {
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(what, "what");
        long address = NativeCall.syscall(Syscall.MMAP, 0, length, prot, flags, fd, offset);
        if (address < 0 && address > -4096) { // the kernel's -errno; an address is never in that last page
            throw new NativeCallException("mmap " + what, (int) -address, "mapping " + length + " bytes");
        }
        // SAFETY: mmap succeeded, so [address, address + length) is mapped until munmap, which the cleanup
        // action runs exactly once when owner closes.
        return MemorySegment.ofAddress(address).reinterpret(length, owner, mapped -> munmap(mapped.address(), length));
    }

    private static void munmap(long address, long length) {
        long result = NativeCall.syscall(Syscall.MUNMAP, address, length, 0, 0, 0, 0);
        if (result < 0) {
            throw new NativeCallException("munmap", (int) -result);
        }
    }

    /**
     * {@code eventfd(initial, flags | EFD_CLOEXEC)}; most callers want {@link dev.vmm4j.vmm.event.EventFd} instead.
     *
     * @param initial the counter's first value, an unsigned 32-bit number
     * @param flags 0, or {@code EFD_NONBLOCK} and {@code EFD_SEMAPHORE}; {@code EFD_CLOEXEC} is always added
     * @return the new fd, which the caller owns and must close
     * @throws NativeCallException if {@code eventfd} fails (such as {@code EMFILE}: too many open fds)
     */
    public static int eventfd(int initial, int flags) {
        int fd = (int) NativeCall.syscall(Syscall.EVENTFD2, initial, flags | LinuxHeaders.EFD_CLOEXEC(), 0, 0, 0, 0);
        if (fd < 0) {
            throw new NativeCallException("eventfd", -fd);
        }
        return fd;
    }

    /**
     * {@code memfd_create(name, flags | MFD_CLOEXEC)}: an anonymous file in memory, 0 bytes long until
     * {@link #ftruncate}.
     *
     * @param name names the file in {@code /proc/<pid>/fd} (as {@code memfd:name}); at most 249 bytes, need not be
     *     unique
     * @param flags 0, or {@code MFD_ALLOW_SEALING}, {@code MFD_HUGETLB} and the like; {@code MFD_CLOEXEC} is always
     *     added
     * @return the new fd, which the caller owns and must close
     * @throws NativeCallException if {@code memfd_create} fails, naming {@code name}
     */
    public static int memfdCreate(String name, int flags) {
        MemorySegment state = NativeCall.callState();
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            fd = (int)
                    MemfdCreate.HANDLE.invokeExact(state, arena.allocateFrom(name), flags | LinuxHeaders.MFD_CLOEXEC());
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (fd < 0) {
            throw new NativeCallException("memfd_create " + name, NativeCall.errno(state));
        }
        return fd;
    }

    /**
     * {@code ftruncate(fd, length)}: sets the file's size, cutting it or extending it with zeros.
     *
     * @param fd a file open for writing; not closed
     * @param length the new size in bytes, 0 or more
     * @throws NativeCallException if {@code ftruncate} fails, naming the length
     */
    public static void ftruncate(int fd, long length) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) Ftruncate.HANDLE.invokeExact(state, fd, length);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw new NativeCallException("ftruncate", NativeCall.errno(state), "to " + length + " bytes");
        }
    }

    /**
     * {@code madvise(memory, memory.byteSize(), advice)}.
     *
     * @param memory native memory that starts on a page boundary, such as a mapping from {@link #mmap}
     * @param advice a {@code MADV_*} value, such as {@code MADV_DONTNEED} or {@code MADV_HUGEPAGE}
     * @throws NativeCallException if {@code madvise} fails ({@code EINVAL}: not page-aligned, or advice this kernel
     *     does not know), naming the advice
     */
    public static void madvise(MemorySegment memory, int advice) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) Madvise.HANDLE.invokeExact(state, memory, memory.byteSize(), advice);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw new NativeCallException("madvise", NativeCall.errno(state), "advice " + advice);
        }
    }

    /**
     * {@code epoll_create1(EPOLL_CLOEXEC)}; most callers want {@link dev.vmm4j.vmm.event.EventLoop} instead.
     *
     * @return the new epoll fd, which the caller owns and must close
     * @throws NativeCallException if {@code epoll_create1} fails
     */
    public static int epollCreate() {
        MemorySegment state = NativeCall.callState();
        int fd;
        try {
            fd = (int) EpollCreate1.HANDLE.invokeExact(state, LinuxHeaders.EPOLL_CLOEXEC());
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (fd < 0) {
            throw new NativeCallException("epoll_create1", NativeCall.errno(state));
        }
        return fd;
    }

    /**
     * {@code epoll_ctl(epfd, op, fd, {events, data})}.
     *
     * @param epfd the epoll fd, from {@link #epollCreate()}
     * @param op {@code EPOLL_CTL_ADD}, {@code EPOLL_CTL_MOD} or {@code EPOLL_CTL_DEL}
     * @param fd the watched fd; epoll does not own it, and closing it (every copy) takes it out of the set
     * @param events {@code EPOLL*} bits to watch for; ignored by {@code EPOLL_CTL_DEL}
     * @param data the 64-bit word {@link #epollWait} hands back with each event on {@code fd}
     * @throws NativeCallException if {@code epoll_ctl} fails, naming {@code fd} and {@code op} ({@code EEXIST}: added
     *     twice; {@code ENOENT}: not in the set; {@code EPERM}: a regular file, which epoll cannot watch)
     */
    public static void epollCtl(int epfd, int op, int fd, int events, long data) {
        MemorySegment state = NativeCall.callState();
        int result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment event = arena.allocate(epoll_event.layout());
            epoll_event.events(event, events);
            event.set(ValueLayout.JAVA_LONG_UNALIGNED, epoll_event.data$offset(), data);
            result = (int) EpollCtl.HANDLE.invokeExact(state, epfd, op, fd, event);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw new NativeCallException("epoll_ctl", NativeCall.errno(state), "fd " + fd + ", op " + op);
        }
    }

    /**
     * {@code epoll_wait(epfd, events, maxEvents, timeoutMs)}: the number of events, or {@code -errno}. Allocates
     * nothing.
     *
     * @param epfd the epoll fd
     * @param events native memory for at least {@code maxEvents} {@code struct epoll_event}s of
     *     {@code epoll_event.sizeof()} bytes each, which the kernel fills from the start
     * @param maxEvents the most events to take, at least 1
     * @param timeoutMs how long to wait in milliseconds: 0 returns at once, -1 waits with no limit
     * @return how many events were stored (0 when the time ran out), or {@code -errno} ({@code -EINTR} when a signal
     *     came first)
     */
    public static int epollWait(int epfd, MemorySegment events, int maxEvents, int timeoutMs) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) EpollWait.HANDLE.invokeExact(state, epfd, events, maxEvents, timeoutMs);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code rt_sigprocmask(how, set, previous, 8)} for the calling thread: what glibc's {@code pthread_sigmask} does
     * (glibc only also keeps its own two internal signals unblocked).
     *
     * @param how {@code SIG_BLOCK}, {@code SIG_UNBLOCK} or {@code SIG_SETMASK}
     * @param set native memory holding the signals (at least {@link #KERNEL_SIGSET_BYTES}), or
     *     {@link MemorySegment#NULL} to change nothing
     * @param previous native memory that receives the mask as it was, or {@link MemorySegment#NULL}
     * @throws NativeCallException if the kernel refuses ({@code EINVAL}: a bad {@code how})
     */
    public static void sigprocmask(int how, MemorySegment set, MemorySegment previous) {
        for (MemorySegment mask : new MemorySegment[] {set, previous}) {
            if (!mask.isNative() || (mask.address() != 0 && mask.byteSize() < KERNEL_SIGSET_BYTES)) {
                throw new IllegalArgumentException("a sigset must be native and hold 64 signals, not " + mask);
            }
        }
        try {
            long result = NativeCall.syscall(
                    Syscall.RT_SIGPROCMASK, how, set.address(), previous.address(), KERNEL_SIGSET_BYTES, 0, 0);
            if (result < 0) {
                throw new NativeCallException("rt_sigprocmask", (int) -result);
            }
        } finally {
            Reference.reachabilityFence(set);
            Reference.reachabilityFence(previous);
        }
    }

    /** {@return the calling thread's kernel thread id, for {@link #tgkill}} */
    public static int gettid() {
        return (int) NativeCall.syscall(Syscall.GETTID, 0, 0, 0, 0, 0, 0);
    }

    /**
     * {@code tgkill(getpid(), tid, signal)}: sends {@code signal} to one thread of this process.
     *
     * @param tid a thread of this process ({@link #gettid}); the caller must know it has not ended, as its id could
     *     then belong to a newer thread
     * @param signal the signal
     * @return 0, or {@code -errno} ({@code -ESRCH}: no such thread)
     */
    public static int tgkill(int tid, int signal) {
        return (int) NativeCall.syscall(Syscall.TGKILL, ProcessHandle.current().pid(), tid, signal, 0, 0, 0);
    }

    /**
     * {@code rt_sigtimedwait(set, NULL, timeout, 8)}, what glibc's {@code sigtimedwait} does: the signal taken, or
     * {@code -errno} ({@code -EAGAIN} if none came). The signals in {@code set} should be blocked on the calling
     * thread, or they may be delivered instead.
     *
     * @param set a native {@code sigset_t} of the signals to take (the kernel reads its first 64 bits)
     * @param timeout a native {@code struct timespec}, or {@link MemorySegment#NULL} to wait with no limit
     * @return the number of the signal taken, which is no longer pending, or {@code -errno} ({@code -EINTR} when
     *     another signal interrupted the wait)
     */
    public static int sigtimedwait(MemorySegment set, MemorySegment timeout) {
        if (!set.isNative() || !timeout.isNative() || set.byteSize() < KERNEL_SIGSET_BYTES) {
            throw new IllegalArgumentException("sigtimedwait takes a native sigset and timeout");
        }
        try {
            return (int) NativeCall.syscall(
                    Syscall.RT_SIGTIMEDWAIT, set.address(), 0, timeout.address(), KERNEL_SIGSET_BYTES, 0, 0);
        } finally {
            Reference.reachabilityFence(set);
            Reference.reachabilityFence(timeout);
        }
    }

    /**
     * {@code readv(fd, iovecs, count)}: bytes read, or {@code -errno}. Allocates nothing. The kernel writes where the
     * iovecs point: the caller guarantees that memory stays mapped during the call (as for {@link #pread}).
     *
     * @param fd the fd to read; not closed
     * @param iovecs native memory holding {@code count} {@code struct iovec}s, filled in order
     * @param count the number of iovecs, 0 to {@code IOV_MAX} (1024)
     * @return bytes read (0 at end of file), or {@code -errno} ({@code -EAGAIN} when a non-blocking fd has nothing)
     */
    public static long readv(int fd, MemorySegment iovecs, int count) {
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) Readv.HANDLE.invokeExact(state, fd, iovecs, count);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code writev(fd, iovecs, count)}: bytes written, or {@code -errno}. Allocates nothing; the caller's duty of
     * {@link #readv}.
     *
     * @param fd the fd to write; not closed
     * @param iovecs native memory holding {@code count} {@code struct iovec}s, written in order
     * @param count the number of iovecs, 0 to {@code IOV_MAX} (1024)
     * @return bytes written, which may be fewer than the iovecs hold, or {@code -errno} ({@code -EAGAIN} when a
     *     non-blocking fd has no room)
     */
    public static long writev(int fd, MemorySegment iovecs, int count) {
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) Writev.HANDLE.invokeExact(state, fd, iovecs, count);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code recvmsg(fd, message, flags)}: bytes received, or {@code -errno}. Allocates nothing; the caller's duty of
     * {@link #readv}, for the iovecs and control buffer {@code message} points to.
     *
     * @param fd a socket; not closed
     * @param message a native {@code struct msghdr} the caller set up; the kernel updates its lengths and flags. Fds
     *     received in its control data ({@code SCM_RIGHTS}) belong to the caller
     * @param flags {@code MSG_*} flags, such as {@code MSG_DONTWAIT} or {@code MSG_TRUNC}
     * @return bytes received (0 when a stream peer has shut down; with {@code MSG_TRUNC}, a datagram's or packet's
     *     whole length even if it did not fit), or {@code -errno}
     */
    public static long recvmsg(int fd, MemorySegment message, int flags) {
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) Recvmsg.HANDLE.invokeExact(state, fd, message, flags);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code sendmsg(fd, message, flags)}: bytes sent, or {@code -errno}. Allocates nothing; the caller's duty of
     * {@link #readv}, for what {@code message} points to.
     *
     * @param fd a socket; not closed
     * @param message a native {@code struct msghdr} the caller set up; fds passed in its control data stay the
     *     caller's
     * @param flags {@code MSG_*} flags, such as {@code MSG_NOSIGNAL} (a gone peer then gives {@code -EPIPE} and no
     *     SIGPIPE)
     * @return bytes sent, which on a stream socket may be fewer than asked, or {@code -errno}
     */
    public static long sendmsg(int fd, MemorySegment message, int flags) {
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) Sendmsg.HANDLE.invokeExact(state, fd, message, flags);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code lseek(fd, offset, whence)}: the new offset, or {@code -errno}.
     *
     * @param fd the file; not closed
     * @param offset in bytes, from where {@code whence} says
     * @param whence {@code SEEK_SET}, {@code SEEK_CUR}, {@code SEEK_END}, {@code SEEK_DATA} or {@code SEEK_HOLE}
     * @return the new offset in bytes from the file's start, or {@code -errno} ({@code -ENXIO} when {@code SEEK_DATA}
     *     or {@code SEEK_HOLE} starts at or past the end, or {@code SEEK_DATA} finds only a hole up to it)
     */
    public static long lseek(int fd, long offset, int whence) {
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) Lseek.HANDLE.invokeExact(state, fd, offset, whence);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code poll(fds, count, timeoutMs)} over {@code count} {@code struct pollfd}s the caller set up (-1: no time
     * limit): how many have events, 0 if the time ran out, or {@code -errno}. Allocates nothing.
     *
     * @param fds native memory holding {@code count} {@code struct pollfd}s; the kernel writes their
     *     {@code revents}
     * @param count the number of {@code struct pollfd}s
     * @param timeoutMs how long to wait in milliseconds: 0 returns at once, -1 waits with no limit
     * @return how many entries have events, 0 if the time ran out, or {@code -errno} ({@code -EINTR} when a signal
     *     came first)
     */
    public static int poll(MemorySegment fds, int count, int timeoutMs) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) Poll.HANDLE.invokeExact(state, fds, (long) count, timeoutMs);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code socket(domain, type | SOCK_CLOEXEC, 0)}; a failure names {@code what} the socket was for.
     *
     * @param domain {@code AF_UNIX}, {@code AF_INET} and the like
     * @param type {@code SOCK_STREAM}, {@code SOCK_DGRAM} or {@code SOCK_SEQPACKET}, with {@code | SOCK_NONBLOCK} as
     *     needed; {@code SOCK_CLOEXEC} is always added
     * @param what what the socket is for, such as {@code "vsock"}, ending a failure's message
     * @return the new socket's fd, which the caller owns and must close
     * @throws NativeCallException if {@code socket} fails
     */
    public static int socket(int domain, int type, String what) {
        Objects.requireNonNull(what, "what");
        MemorySegment state = NativeCall.callState();
        int fd;
        try {
            fd = (int) Socket.HANDLE.invokeExact(state, domain, type | LinuxHeaders.SOCK_CLOEXEC(), 0);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (fd < 0) {
            throw new NativeCallException("socket", NativeCall.errno(state), what);
        }
        return fd;
    }

    /**
     * {@code socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0)}.
     *
     * @param type {@code SOCK_STREAM}, {@code SOCK_DGRAM} or {@code SOCK_SEQPACKET}, with {@code | SOCK_NONBLOCK} for
     *     both ends; {@code SOCK_CLOEXEC} is always added
     * @return the two connected fds, a new array of 2 that the caller owns: both must be closed
     * @throws NativeCallException if {@code socketpair} fails
     */
    public static int[] socketpair(int type) {
        MemorySegment state = NativeCall.callState();
        int result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            result = (int) Socketpair.HANDLE.invokeExact(
                    state, LinuxHeaders.AF_UNIX(), type | LinuxHeaders.SOCK_CLOEXEC(), 0, fds);
            if (result == 0) {
                return fds.toArray(ValueLayout.JAVA_INT);
            }
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        throw new NativeCallException("socketpair", NativeCall.errno(state));
    }

    /**
     * {@code fcntl(fd, command, argument)}: the result, or {@code -errno}. Only for commands whose argument is an
     * {@code int} or unused; those that take a pointer ({@code F_GETLK} and the like) cannot be made with this.
     *
     * @param fd the fd; not closed
     * @param command {@code F_DUPFD_CLOEXEC}, {@code F_GETFD}, {@code F_SETFL} and the like
     * @param argument the command's {@code int} argument; 0 for commands that take none
     * @return what the command returns (a new fd for {@code F_DUPFD*}, which the caller owns; the flags for
     *     {@code F_GETFD} and {@code F_GETFL}; 0 for most others), or {@code -errno}
     */
    public static int fcntl(int fd, int command, int argument) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) Fcntl.HANDLE.invokeExact(state, fd, command, argument);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code setns(fd, type)}: moves the calling thread into the namespace {@code fd} refers to (a network namespace
     * moves only this thread).
     *
     * <p>On a virtual thread, what moves is the carrier thread under it: call it on a platform thread.
     *
     * @param fd an fd for a namespace ({@code /proc/<pid>/ns/net}, {@code /run/netns/<name>}); still the caller's,
     *     and it may be closed once this returns
     * @param type the namespace type {@code fd} must be, such as {@code CLONE_NEWNET}, or 0 for any
     * @throws NativeCallException if {@code setns} fails ({@code EPERM}: without {@code CAP_SYS_ADMIN}; {@code EINVAL}:
     *     {@code fd} is not a namespace of {@code type})
     */
    public static void setns(int fd, int type) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) Setns.HANDLE.invokeExact(state, fd, type);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw new NativeCallException("setns", NativeCall.errno(state), "into the namespace of fd " + fd);
        }
    }

    /**
     * {@code read(fd, memory + offset, length)} into part of a native segment, with the checks and the caller's duty of
     * {@link #pread(int, MemorySegment, long, long, long)}: bytes read (0 at end of stream), or {@code -errno}.
     * Allocates nothing.
     *
     * @param fd the fd to read, from its current offset; not closed
     * @param memory native memory, such as a region of guest memory, that the bytes go into
     * @param offset where in {@code memory} the bytes go, in bytes from its start
     * @param length how many bytes to read at most
     * @return bytes read (0 at end of stream), or {@code -errno} ({@code -EAGAIN} when a non-blocking fd has nothing)
     * @throws IndexOutOfBoundsException if {@code [offset, offset + length)} is not inside {@code memory}
     * @throws IllegalArgumentException if {@code memory} is not native
     * @throws IllegalStateException if {@code memory} was already unmapped (its scope is closed)
     */
    public static long read(int fd, MemorySegment memory, long offset, long length) {
        long address = nativeAddress(memory, offset, length);
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) ReadAtAddress.HANDLE.invokeExact(state, fd, address, length);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code send(fd, memory + offset, length, MSG_DONTWAIT | MSG_NOSIGNAL)} from part of a native segment, with the
     * checks and the caller's duty of {@link #pread(int, MemorySegment, long, long, long)}: bytes sent, or
     * {@code -errno} ({@code -EAGAIN} when the socket has no room; {@code -EPIPE}, never SIGPIPE, when the peer is gone).
     *
     * @param fd a connected socket; not closed
     * @param memory native memory, such as a region of guest memory, that the bytes come from
     * @param offset where in {@code memory} the bytes start, in bytes from its start
     * @param length how many bytes to send
     * @return bytes sent, which may be fewer than {@code length}, or {@code -errno}
     * @throws IndexOutOfBoundsException if {@code [offset, offset + length)} is not inside {@code memory}
     * @throws IllegalArgumentException if {@code memory} is not native
     * @throws IllegalStateException if {@code memory} was already unmapped (its scope is closed)
     */
    public static long send(int fd, MemorySegment memory, long offset, long length) {
        return send(fd, memory, offset, length, LinuxHeaders.MSG_DONTWAIT() | LinuxHeaders.MSG_NOSIGNAL());
    }

    /**
     * {@code send(fd, memory + offset, length, MSG_NOSIGNAL)}: as {@link #send(int, MemorySegment, long, long)}, but
     * waits for room on a blocking socket.
     *
     * @param fd a connected socket; not closed
     * @param memory native memory that the bytes come from
     * @param offset where in {@code memory} the bytes start, in bytes from its start
     * @param length how many bytes to send
     * @return bytes sent, which may be fewer than {@code length}, or {@code -errno} ({@code -EPIPE} when the peer is
     *     gone; {@code -EAGAIN} only on a non-blocking socket)
     * @throws IndexOutOfBoundsException if {@code [offset, offset + length)} is not inside {@code memory}
     * @throws IllegalArgumentException if {@code memory} is not native
     * @throws IllegalStateException if {@code memory} was already unmapped (its scope is closed)
     */
    public static long sendWaiting(int fd, MemorySegment memory, long offset, long length) {
        return send(fd, memory, offset, length, LinuxHeaders.MSG_NOSIGNAL());
    }

    private static long send(int fd, MemorySegment memory, long offset, long length, int flags) {
        long address = nativeAddress(memory, offset, length);
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) SendAtAddress.HANDLE.invokeExact(state, fd, address, length, flags);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code bind(fd, path)} and {@code listen(fd, SOMAXCONN)} for a unix stream socket at {@code path}.
     *
     * @param fd an {@code AF_UNIX} stream or seqpacket socket, not yet bound; still the caller's
     * @param path where the socket file is made; it must not exist yet, and is not removed when {@code fd} closes
     * @throws NativeCallException naming the path if either fails (EADDRINUSE: something already has that path)
     * @throws IllegalArgumentException if the path does not fit a {@code sockaddr_un} (107 bytes)
     */
    public static void bindAndListen(int fd, Path path) {
        MemorySegment state = NativeCall.callState();
        int result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = unixAddress(arena, path);
            result = (int) Bind.HANDLE.invokeExact(state, fd, address, (int) address.byteSize());
            if (result < 0) {
                throw new NativeCallException("bind", NativeCall.errno(state), "unix socket " + path);
            }
            result = (int) Listen.HANDLE.invokeExact(state, fd, LinuxHeaders.SOMAXCONN());
        } catch (NativeCallException e) {
            throw e;
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw new NativeCallException("listen", NativeCall.errno(state), "unix socket " + path);
        }
    }

    /**
     * {@code connect(fd, path)} for a unix stream socket: 0, or {@code -errno} (ENOENT or ECONNREFUSED when nothing
     * listens there, EAGAIN when the listener's backlog is full on a non-blocking socket).
     *
     * @param fd an {@code AF_UNIX} socket, not yet connected; still the caller's, also when this fails
     * @param path the listener's socket file
     * @return 0, or {@code -errno}
     * @throws IllegalArgumentException if the path does not fit a {@code sockaddr_un} (107 bytes)
     */
    public static int connect(int fd, Path path) {
        MemorySegment state = NativeCall.callState();
        int result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = unixAddress(arena, path);
            result = (int) Connect.HANDLE.invokeExact(state, fd, address, (int) address.byteSize());
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    private static MemorySegment unixAddress(Arena arena, Path path) {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        long pathOffset = sockaddr_un.sun_path$offset();
        long room = sockaddr_un.sun_path$layout().byteSize();
        if (name.length == 0 || name.length >= room) {
            throw new IllegalArgumentException("a unix socket path must have 1 to " + (room - 1) + " bytes, not "
                    + name.length + ": " + path + " (use a shorter or relative path)");
        }
        MemorySegment address = arena.allocate(pathOffset + name.length + 1, 2);
        address.set(ValueLayout.JAVA_SHORT, 0, (short) LinuxHeaders.AF_UNIX());
        MemorySegment.copy(name, 0, address, ValueLayout.JAVA_BYTE, pathOffset, name.length);
        return address;
    }

    /**
     * {@code accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)}: the new connection's fd, non-blocking, or
     * {@code -errno} ({@code -EAGAIN} when none is waiting).
     *
     * @param fd a listening socket, such as one from {@link #bindAndListen}; not closed
     * @return the new connection's fd, which the caller owns and must close, or {@code -errno}
     */
    public static int accept(int fd) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) Accept4.HANDLE.invokeExact(
                    state,
                    fd,
                    MemorySegment.NULL,
                    MemorySegment.NULL,
                    LinuxHeaders.SOCK_NONBLOCK() | LinuxHeaders.SOCK_CLOEXEC());
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code shutdown(fd, how)} with {@code how} one of SHUT_RD, SHUT_WR, SHUT_RDWR: 0, or {@code -errno}. Does not
     * close {@code fd}.
     *
     * @param fd a connected socket
     * @param how {@code SHUT_RD}, {@code SHUT_WR} (the peer reads end of stream) or {@code SHUT_RDWR}
     * @return 0, or {@code -errno} ({@code -ENOTCONN} when the socket is not connected)
     */
    public static int shutdown(int fd, int how) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) Shutdown.HANDLE.invokeExact(state, fd, how);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)}, disarmed; most callers want
     * {@link dev.vmm4j.vmm.event.TimerFd} instead.
     *
     * @return the timer's fd, which the caller owns and must close
     * @throws NativeCallException if {@code timerfd_create} fails
     */
    public static int timerfdCreate() {
        MemorySegment state = NativeCall.callState();
        int fd;
        try {
            fd = (int) TimerfdCreate.HANDLE.invokeExact(
                    state, LinuxHeaders.CLOCK_MONOTONIC(), LinuxHeaders.TFD_NONBLOCK() | LinuxHeaders.TFD_CLOEXEC());
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (fd < 0) {
            throw new NativeCallException("timerfd_create", NativeCall.errno(state));
        }
        return fd;
    }

    /**
     * {@code timerfd_settime(fd, 0, {interval, first}, NULL)}: the timer expires after {@code firstNanos} (0 disarms
     * it), then every {@code intervalNanos} (0: once). Either way, expirations not yet read are dropped.
     *
     * @param fd a timerfd, such as one from {@link #timerfdCreate()}; not closed
     * @param firstNanos nanoseconds from now on the monotonic clock until the first expiry, 0 or more; 0 disarms
     * @param intervalNanos nanoseconds between later expiries, 0 or more
     * @throws NativeCallException if {@code timerfd_settime} fails ({@code EINVAL}: a negative time)
     */
    public static void timerfdSettime(int fd, long firstNanos, long intervalNanos) {
        MemorySegment state = NativeCall.callState();
        int result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment spec = itimerspec.allocate(arena);
            setTimespec(itimerspec.it_value(spec), firstNanos);
            setTimespec(itimerspec.it_interval(spec), intervalNanos);
            result = (int) TimerfdSettime.HANDLE.invokeExact(state, fd, 0, spec, MemorySegment.NULL);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw new NativeCallException("timerfd_settime", NativeCall.errno(state));
        }
    }

    private static void setTimespec(MemorySegment timespec, long nanos) {
        dev.vmm4j.kvm.bindings.timespec.tv_sec(timespec, nanos / 1_000_000_000L);
        dev.vmm4j.kvm.bindings.timespec.tv_nsec(timespec, nanos % 1_000_000_000L);
    }
}
