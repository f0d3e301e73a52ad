// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.sys;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCall;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.kvm.bindings.Syscall;
import dev.vmm4j.kvm.bindings.itimerspec;
import dev.vmm4j.kvm.bindings.sockaddr_un;
import dev.vmm4j.kvm.bindings.timespec;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Set;

/**
 * The libc calls vmm4j makes, each failing with a {@link NativeCallException} that names the call and errno (or, for
 * the transfers on the hot path, returning {@code -errno}). Low level: for modules built on vmm-api, such as the
 * virtio block device's image files; each method says what the caller must guarantee.
 *
 * <p>Every call goes through {@link NativeCall#syscall}, one downcall stub for all of them (see {@link Syscall} for
 * why), which passes a pointer as a bare address: the
 * memory a segment argument points to must stay open until the call returns. A segment of an arena that another thread
 * may close (a shared arena) must not be closed during the call; FFM would refuse that close for a segment passed to a
 * downcall, but here nothing does.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class Libc {
    /** The kernel's sigset, which rt_sigtimedwait, rt_sigprocmask and KVM_SET_SIGNAL_MASK take: 64 signals. */
    public static final int KERNEL_SIGSET_BYTES = 8;

    private static final boolean X86_64 = Set.of("amd64", "x86_64").contains(System.getProperty("os.arch"));
    /**
     * The size of the kernel's {@code struct epoll_event}: packed on x86_64 (12 bytes, jextract's layout), naturally
     * aligned on the other 64-bit architectures (16 bytes).
     */
    public static final long EPOLL_EVENT_BYTES = X86_64 ? 12 : 16;
    /** Where {@code struct epoll_event}'s 64-bit {@code data} is: after the 32-bit {@code events}, padded but on x86_64. */
    public static final long EPOLL_EVENT_DATA_OFFSET = X86_64 ? 4 : 8;

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
        try {
            return NativeCall.syscall(Syscall.READ, fd, NativeCall.address(buffer), buffer.byteSize(), 0, 0, 0);
        } finally {
            Reference.reachabilityFence(buffer);
        }
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
        try {
            return NativeCall.syscall(Syscall.WRITE, fd, NativeCall.address(buffer), buffer.byteSize(), 0, 0, 0);
        } finally {
            Reference.reachabilityFence(buffer);
        }
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
        try {
            return NativeCall.syscall(Syscall.PREAD64, fd, address, length, position, 0, 0);
        } finally {
            Reference.reachabilityFence(memory);
        }
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
        try {
            return NativeCall.syscall(Syscall.PWRITE64, fd, address, length, position, 0, 0);
        } finally {
            Reference.reachabilityFence(memory);
        }
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
        return (int) NativeCall.syscall(Syscall.FSYNC, fd, 0, 0, 0, 0, 0);
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
        return (int) NativeCall.syscall(Syscall.FLOCK, fd, operation, 0, 0, 0, 0);
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
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            fd = (int) NativeCall.syscall(
                    Syscall.MEMFD_CREATE,
                    arena.allocateFrom(name).address(),
                    flags | LinuxHeaders.MFD_CLOEXEC(),
                    0,
                    0,
                    0,
                    0);
        }
        if (fd < 0) {
            throw new NativeCallException("memfd_create " + name, -fd);
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
        long result = NativeCall.syscall(Syscall.FTRUNCATE, fd, length, 0, 0, 0, 0);
        if (result < 0) {
            throw new NativeCallException("ftruncate", (int) -result, "to " + length + " bytes");
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
        long result;
        try {
            result =
                    NativeCall.syscall(Syscall.MADVISE, NativeCall.address(memory), memory.byteSize(), advice, 0, 0, 0);
        } finally {
            Reference.reachabilityFence(memory);
        }
        if (result < 0) {
            throw new NativeCallException("madvise", (int) -result, "advice " + advice);
        }
    }

    /**
     * {@code epoll_create1(EPOLL_CLOEXEC)}; most callers want {@link dev.vmm4j.vmm.event.EventLoop} instead.
     *
     * @return the new epoll fd, which the caller owns and must close
     * @throws NativeCallException if {@code epoll_create1} fails
     */
    public static int epollCreate() {
        int fd = (int) NativeCall.syscall(Syscall.EPOLL_CREATE1, LinuxHeaders.EPOLL_CLOEXEC(), 0, 0, 0, 0, 0);
        if (fd < 0) {
            throw new NativeCallException("epoll_create1", -fd);
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
        long result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment event = arena.allocate(EPOLL_EVENT_BYTES, 8);
            event.set(ValueLayout.JAVA_INT_UNALIGNED, 0, events);
            event.set(ValueLayout.JAVA_LONG_UNALIGNED, EPOLL_EVENT_DATA_OFFSET, data);
            result = NativeCall.syscall(Syscall.EPOLL_CTL, epfd, op, fd, event.address(), 0, 0);
        }
        if (result < 0) {
            throw new NativeCallException("epoll_ctl", (int) -result, "fd " + fd + ", op " + op);
        }
    }

    /**
     * {@code epoll_wait(epfd, events, maxEvents, timeoutMs)}: the number of events, or {@code -errno}. Allocates
     * nothing.
     *
     * @param epfd the epoll fd
     * @param events native memory for at least {@code maxEvents} {@code struct epoll_event}s of
     *     {@link #EPOLL_EVENT_BYTES} each, which the kernel fills from the start
     * @param maxEvents the most events to take, at least 1
     * @param timeoutMs how long to wait in milliseconds: 0 returns at once, -1 waits with no limit
     * @return how many events were stored (0 when the time ran out), or {@code -errno} ({@code -EINTR} when a signal
     *     came first)
     */
    public static int epollWait(int epfd, MemorySegment events, int maxEvents, int timeoutMs) {
        long buffer = NativeCall.address(events);
        try {
            return Syscall.EPOLL_WAIT.exists()
                    ? (int) NativeCall.syscall(Syscall.EPOLL_WAIT, epfd, buffer, maxEvents, timeoutMs, 0, 0)
                    : (int) NativeCall.syscall(
                            Syscall.EPOLL_PWAIT, epfd, buffer, maxEvents, timeoutMs, 0, KERNEL_SIGSET_BYTES);
        } finally {
            Reference.reachabilityFence(events);
        }
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
        Objects.requireNonNull(set, "set");
        Objects.requireNonNull(previous, "previous");
        for (MemorySegment mask : new MemorySegment[] {set, previous}) {
            if (NativeCall.address(mask) != 0 && mask.byteSize() < KERNEL_SIGSET_BYTES) {
                throw new IllegalArgumentException("a sigset must hold 64 signals, not " + mask);
            }
        }
        try {
            long result = NativeCall.syscall(
                    Syscall.RT_SIGPROCMASK,
                    how,
                    NativeCall.address(set),
                    NativeCall.address(previous),
                    KERNEL_SIGSET_BYTES,
                    0,
                    0);
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
        Objects.requireNonNull(set, "set");
        Objects.requireNonNull(timeout, "timeout");
        if (set.byteSize() < KERNEL_SIGSET_BYTES) {
            throw new IllegalArgumentException("sigtimedwait takes a sigset of 64 signals, not " + set);
        }
        try {
            return (int) NativeCall.syscall(
                    Syscall.RT_SIGTIMEDWAIT,
                    NativeCall.address(set),
                    0,
                    NativeCall.address(timeout),
                    KERNEL_SIGSET_BYTES,
                    0,
                    0);
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
        try {
            return NativeCall.syscall(Syscall.READV, fd, NativeCall.address(iovecs), count, 0, 0, 0);
        } finally {
            Reference.reachabilityFence(iovecs);
        }
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
        try {
            return NativeCall.syscall(Syscall.WRITEV, fd, NativeCall.address(iovecs), count, 0, 0, 0);
        } finally {
            Reference.reachabilityFence(iovecs);
        }
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
        try {
            return NativeCall.syscall(Syscall.RECVMSG, fd, NativeCall.address(message), flags, 0, 0, 0);
        } finally {
            Reference.reachabilityFence(message);
        }
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
        try {
            return NativeCall.syscall(Syscall.SENDMSG, fd, NativeCall.address(message), flags, 0, 0, 0);
        } finally {
            Reference.reachabilityFence(message);
        }
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
        return NativeCall.syscall(Syscall.LSEEK, fd, offset, whence, 0, 0, 0);
    }

    /**
     * {@code poll(fds, count, timeoutMs)} over {@code count} {@code struct pollfd}s the caller set up (-1: no time
     * limit): how many have events, 0 if the time ran out, or {@code -errno}. Allocates nothing on x86_64; aarch64 has
     * only {@code ppoll}, whose time limit is a {@code struct timespec} made for the call.
     *
     * @param fds native memory holding {@code count} {@code struct pollfd}s; the kernel writes their
     *     {@code revents}
     * @param count the number of {@code struct pollfd}s
     * @param timeoutMs how long to wait in milliseconds: 0 returns at once, -1 waits with no limit
     * @return how many entries have events, 0 if the time ran out, or {@code -errno} ({@code -EINTR} when a signal
     *     came first)
     */
    public static int poll(MemorySegment fds, int count, int timeoutMs) {
        long pollfds = NativeCall.address(fds);
        try {
            if (Syscall.POLL.exists()) {
                return (int) NativeCall.syscall(Syscall.POLL, pollfds, count, timeoutMs, 0, 0, 0);
            }
            try (Arena arena = Arena.ofConfined()) { // ppoll takes its time limit as a timespec, or NULL for none
                long timeout = 0;
                if (timeoutMs >= 0) {
                    MemorySegment spec = arena.allocate(timespec.layout());
                    setTimespec(spec, timeoutMs * 1_000_000L);
                    timeout = spec.address();
                }
                return (int) NativeCall.syscall(Syscall.PPOLL, pollfds, count, timeout, 0, KERNEL_SIGSET_BYTES, 0);
            }
        } finally {
            Reference.reachabilityFence(fds);
        }
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
        int fd = (int) NativeCall.syscall(Syscall.SOCKET, domain, type | LinuxHeaders.SOCK_CLOEXEC(), 0, 0, 0, 0);
        if (fd < 0) {
            throw new NativeCallException("socket", -fd, what);
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
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            long result = NativeCall.syscall(
                    Syscall.SOCKETPAIR,
                    LinuxHeaders.AF_UNIX(),
                    type | LinuxHeaders.SOCK_CLOEXEC(),
                    0,
                    fds.address(),
                    0,
                    0);
            if (result < 0) {
                throw new NativeCallException("socketpair", (int) -result);
            }
            return fds.toArray(ValueLayout.JAVA_INT);
        }
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
        return (int) NativeCall.syscall(Syscall.FCNTL, fd, command, argument, 0, 0, 0);
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
        long result = NativeCall.syscall(Syscall.SETNS, fd, type, 0, 0, 0, 0);
        if (result < 0) {
            throw new NativeCallException("setns", (int) -result, "into the namespace of fd " + fd);
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
        try {
            return NativeCall.syscall(Syscall.READ, fd, address, length, 0, 0, 0);
        } finally {
            Reference.reachabilityFence(memory);
        }
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
        try {
            return NativeCall.syscall(Syscall.SENDTO, fd, address, length, flags, 0, 0);
        } finally {
            Reference.reachabilityFence(memory);
        }
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
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = unixAddress(arena, path);
            long result = NativeCall.syscall(Syscall.BIND, fd, address.address(), address.byteSize(), 0, 0, 0);
            if (result < 0) {
                throw new NativeCallException("bind", (int) -result, "unix socket " + path);
            }
        }
        long result = NativeCall.syscall(Syscall.LISTEN, fd, LinuxHeaders.SOMAXCONN(), 0, 0, 0, 0);
        if (result < 0) {
            throw new NativeCallException("listen", (int) -result, "unix socket " + path);
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
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = unixAddress(arena, path);
            return (int) NativeCall.syscall(Syscall.CONNECT, fd, address.address(), address.byteSize(), 0, 0, 0);
        }
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
        return (int) NativeCall.syscall(
                Syscall.ACCEPT4, fd, 0, 0, LinuxHeaders.SOCK_NONBLOCK() | LinuxHeaders.SOCK_CLOEXEC(), 0, 0);
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
        return (int) NativeCall.syscall(Syscall.SHUTDOWN, fd, how, 0, 0, 0, 0);
    }

    /**
     * {@code timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)}, disarmed; most callers want
     * {@link dev.vmm4j.vmm.event.TimerFd} instead.
     *
     * @return the timer's fd, which the caller owns and must close
     * @throws NativeCallException if {@code timerfd_create} fails
     */
    public static int timerfdCreate() {
        int fd = (int) NativeCall.syscall(
                Syscall.TIMERFD_CREATE,
                LinuxHeaders.CLOCK_MONOTONIC(),
                LinuxHeaders.TFD_NONBLOCK() | LinuxHeaders.TFD_CLOEXEC(),
                0,
                0,
                0,
                0);
        if (fd < 0) {
            throw new NativeCallException("timerfd_create", -fd);
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
        long result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment spec = itimerspec.allocate(arena);
            setTimespec(itimerspec.it_value(spec), firstNanos);
            setTimespec(itimerspec.it_interval(spec), intervalNanos);
            result = NativeCall.syscall(Syscall.TIMERFD_SETTIME, fd, 0, spec.address(), 0, 0, 0);
        }
        if (result < 0) {
            throw new NativeCallException("timerfd_settime", (int) -result);
        }
    }

    private static void setTimespec(MemorySegment timespec, long nanos) {
        dev.vmm4j.kvm.bindings.timespec.tv_sec(timespec, nanos / 1_000_000_000L);
        dev.vmm4j.kvm.bindings.timespec.tv_nsec(timespec, nanos % 1_000_000_000L);
    }
}
