// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.sys;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.C_INT;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.C_POINTER;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCall;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.kvm.bindings.epoll_event;
import dev.vmm4j.kvm.bindings.itimerspec;
import dev.vmm4j.kvm.bindings.sockaddr_un;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The libc calls vmm4j makes, each failing with a {@link NativeCallException} that names the call and errno (or, for
 * the transfers on the hot path, returning {@code -errno}). Low level: for modules built on vmm-api, such as the
 * virtio block device's image files; each method says what the caller must guarantee.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class Libc {
    private static final MethodHandle OPEN = NativeCall.errnoCapturing(
            LinuxHeaders.open.address(),
            FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_INT),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE =
            NativeCall.errnoCapturing(LinuxHeaders.close$address(), LinuxHeaders.close$descriptor());
    private static final MethodHandle READ =
            NativeCall.errnoCapturing(LinuxHeaders.read$address(), LinuxHeaders.read$descriptor());
    private static final MethodHandle WRITE =
            NativeCall.errnoCapturing(LinuxHeaders.write$address(), LinuxHeaders.write$descriptor());
    /** pread with the buffer as a plain address, so a transfer into part of a mapping needs no slice object. */
    private static final MethodHandle PREAD_AT_ADDRESS = NativeCall.errnoCapturing(
            LinuxHeaders.pread$address(),
            FunctionDescriptor.of(
                    LinuxHeaders.C_LONG, C_INT, ValueLayout.JAVA_LONG, LinuxHeaders.C_LONG, LinuxHeaders.C_LONG));

    private static final MethodHandle PWRITE_AT_ADDRESS = NativeCall.errnoCapturing(
            LinuxHeaders.pwrite$address(),
            FunctionDescriptor.of(
                    LinuxHeaders.C_LONG, C_INT, ValueLayout.JAVA_LONG, LinuxHeaders.C_LONG, LinuxHeaders.C_LONG));
    private static final MethodHandle FSYNC =
            NativeCall.errnoCapturing(LinuxHeaders.fsync$address(), LinuxHeaders.fsync$descriptor());
    private static final MethodHandle FLOCK =
            NativeCall.errnoCapturing(LinuxHeaders.flock$address(), LinuxHeaders.flock$descriptor());
    private static final MethodHandle MMAP =
            NativeCall.errnoCapturing(LinuxHeaders.mmap$address(), LinuxHeaders.mmap$descriptor());
    private static final MethodHandle MUNMAP =
            NativeCall.errnoCapturing(LinuxHeaders.munmap$address(), LinuxHeaders.munmap$descriptor());
    private static final MethodHandle EVENTFD =
            NativeCall.errnoCapturing(LinuxHeaders.eventfd$address(), LinuxHeaders.eventfd$descriptor());
    private static final MethodHandle MEMFD_CREATE =
            NativeCall.errnoCapturing(LinuxHeaders.memfd_create$address(), LinuxHeaders.memfd_create$descriptor());
    private static final MethodHandle FTRUNCATE =
            NativeCall.errnoCapturing(LinuxHeaders.ftruncate$address(), LinuxHeaders.ftruncate$descriptor());
    private static final MethodHandle MADVISE =
            NativeCall.errnoCapturing(LinuxHeaders.madvise$address(), LinuxHeaders.madvise$descriptor());
    private static final MethodHandle EPOLL_CREATE1 =
            NativeCall.errnoCapturing(LinuxHeaders.epoll_create1$address(), LinuxHeaders.epoll_create1$descriptor());
    private static final MethodHandle EPOLL_CTL =
            NativeCall.errnoCapturing(LinuxHeaders.epoll_ctl$address(), LinuxHeaders.epoll_ctl$descriptor());
    private static final MethodHandle EPOLL_WAIT =
            NativeCall.errnoCapturing(LinuxHeaders.epoll_wait$address(), LinuxHeaders.epoll_wait$descriptor());
    private static final MethodHandle READV =
            NativeCall.errnoCapturing(LinuxHeaders.readv$address(), LinuxHeaders.readv$descriptor());
    private static final MethodHandle WRITEV =
            NativeCall.errnoCapturing(LinuxHeaders.writev$address(), LinuxHeaders.writev$descriptor());
    private static final MethodHandle RECVMSG =
            NativeCall.errnoCapturing(LinuxHeaders.recvmsg$address(), LinuxHeaders.recvmsg$descriptor());
    private static final MethodHandle SOCKET =
            NativeCall.errnoCapturing(LinuxHeaders.socket$address(), LinuxHeaders.socket$descriptor());
    private static final MethodHandle SOCKETPAIR =
            NativeCall.errnoCapturing(LinuxHeaders.socketpair$address(), LinuxHeaders.socketpair$descriptor());
    private static final MethodHandle FCNTL = NativeCall.errnoCapturing(
            LinuxHeaders.fcntl.address(),
            FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle SETNS =
            NativeCall.errnoCapturing(LinuxHeaders.setns$address(), LinuxHeaders.setns$descriptor());
    // glibc declares the address arguments of bind, connect and accept4 as transparent unions of pointers, which the
    // ABI passes as the pointer itself.
    private static final MethodHandle BIND = NativeCall.errnoCapturing(
            LinuxHeaders.bind$address(), FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT));
    private static final MethodHandle LISTEN =
            NativeCall.errnoCapturing(LinuxHeaders.listen$address(), LinuxHeaders.listen$descriptor());
    private static final MethodHandle ACCEPT4 = NativeCall.errnoCapturing(
            LinuxHeaders.accept4$address(), FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_INT));
    private static final MethodHandle CONNECT = NativeCall.errnoCapturing(
            LinuxHeaders.connect$address(), FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT));
    private static final MethodHandle SHUTDOWN =
            NativeCall.errnoCapturing(LinuxHeaders.shutdown$address(), LinuxHeaders.shutdown$descriptor());
    /** read and send with the buffer as a plain address, as {@link #PREAD_AT_ADDRESS}. */
    private static final MethodHandle READ_AT_ADDRESS = NativeCall.errnoCapturing(
            LinuxHeaders.read$address(),
            FunctionDescriptor.of(LinuxHeaders.C_LONG, C_INT, ValueLayout.JAVA_LONG, LinuxHeaders.C_LONG));

    private static final MethodHandle SEND_AT_ADDRESS = NativeCall.errnoCapturing(
            LinuxHeaders.send$address(),
            FunctionDescriptor.of(LinuxHeaders.C_LONG, C_INT, ValueLayout.JAVA_LONG, LinuxHeaders.C_LONG, C_INT));
    private static final MethodHandle TIMERFD_CREATE =
            NativeCall.errnoCapturing(LinuxHeaders.timerfd_create$address(), LinuxHeaders.timerfd_create$descriptor());
    private static final MethodHandle TIMERFD_SETTIME = NativeCall.errnoCapturing(
            LinuxHeaders.timerfd_settime$address(), LinuxHeaders.timerfd_settime$descriptor());
    private static final MethodHandle SIGTIMEDWAIT =
            NativeCall.errnoCapturing(LinuxHeaders.sigtimedwait$address(), LinuxHeaders.sigtimedwait$descriptor());

    private Libc() {}

    /** {@code open(path, flags | O_CLOEXEC)}; a failure names the path and ends with {@code hintOnFailure}. */
    public static int open(String path, int flags, String hintOnFailure) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(hintOnFailure, "hintOnFailure");
        MemorySegment state = NativeCall.callState();
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags | LinuxHeaders.O_CLOEXEC(), 0);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (fd < 0) {
            throw new NativeCallException("open " + path, NativeCall.errno(state), hintOnFailure);
        }
        return fd;
    }

    /** {@code close(fd)}. */
    public static void close(int fd) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) CLOSE.invokeExact(state, fd);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw new NativeCallException("close", NativeCall.errno(state));
        }
    }

    /** {@code read(fd, buffer, buffer.byteSize())}: bytes read, or {@code -errno}. Allocates nothing. */
    public static long read(int fd, MemorySegment buffer) {
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) READ.invokeExact(state, fd, buffer, buffer.byteSize());
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /** {@code write(fd, buffer, buffer.byteSize())}: bytes written, or {@code -errno}. Allocates nothing. */
    public static long write(int fd, MemorySegment buffer) {
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) WRITE.invokeExact(state, fd, buffer, buffer.byteSize());
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
     * @throws IndexOutOfBoundsException if {@code [offset, offset + length)} is not inside {@code memory}
     * @throws IllegalArgumentException if {@code memory} is not native
     * @throws IllegalStateException if {@code memory} was already unmapped (its scope is closed)
     */
    public static long pread(int fd, MemorySegment memory, long offset, long length, long position) {
        long address = nativeAddress(memory, offset, length);
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) PREAD_AT_ADDRESS.invokeExact(state, fd, address, length, position);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code pwrite(fd, memory + offset, length, position)} from part of a native segment, with the checks and the
     * caller's duty of {@link #pread(int, MemorySegment, long, long, long)}.
     */
    public static long pwrite(int fd, MemorySegment memory, long offset, long length, long position) {
        long address = nativeAddress(memory, offset, length);
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) PWRITE_AT_ADDRESS.invokeExact(state, fd, address, length, position);
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

    /** {@code fsync(fd)}: 0, or {@code -errno}. */
    public static int fsync(int fd) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) FSYNC.invokeExact(state, fd);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /** {@code flock(fd, operation)}: 0, or {@code -errno} ({@code -EWOULDBLOCK} when {@code LOCK_NB} and held elsewhere). */
    public static int flock(int fd, int operation) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) FLOCK.invokeExact(state, fd, operation);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code mmap(NULL, length, prot, flags, fd, offset)}, as a segment of {@code length} bytes owned by
     * {@code owner}: closing {@code owner} unmaps it.
     */
    @SuppressWarnings("restricted")
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset, Arena owner, String what) {
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(what, "what");
        MemorySegment state = NativeCall.callState();
        MemorySegment address;
        try {
            address = (MemorySegment) MMAP.invokeExact(state, MemorySegment.NULL, length, prot, flags, fd, offset);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (address.address() == -1L) {
            throw new NativeCallException("mmap " + what, NativeCall.errno(state), "mapping " + length + " bytes");
        }
        // SAFETY: mmap succeeded, so [address, address + length) is mapped until munmap, which the cleanup
        // action runs exactly once when owner closes.
        return address.reinterpret(length, owner, mapped -> munmap(mapped.address(), length));
    }

    private static void munmap(long address, long length) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) MUNMAP.invokeExact(state, MemorySegment.ofAddress(address), length);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw new NativeCallException("munmap", NativeCall.errno(state));
        }
    }

    /** {@code eventfd(initial, flags | EFD_CLOEXEC)}. */
    public static int eventfd(int initial, int flags) {
        MemorySegment state = NativeCall.callState();
        int fd;
        try {
            fd = (int) EVENTFD.invokeExact(state, initial, flags | LinuxHeaders.EFD_CLOEXEC());
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (fd < 0) {
            throw new NativeCallException("eventfd", NativeCall.errno(state));
        }
        return fd;
    }

    /** {@code memfd_create(name, flags | MFD_CLOEXEC)}. */
    public static int memfdCreate(String name, int flags) {
        MemorySegment state = NativeCall.callState();
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            fd = (int) MEMFD_CREATE.invokeExact(state, arena.allocateFrom(name), flags | LinuxHeaders.MFD_CLOEXEC());
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (fd < 0) {
            throw new NativeCallException("memfd_create " + name, NativeCall.errno(state));
        }
        return fd;
    }

    /** {@code ftruncate(fd, length)}. */
    public static void ftruncate(int fd, long length) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) FTRUNCATE.invokeExact(state, fd, length);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw new NativeCallException("ftruncate", NativeCall.errno(state), "to " + length + " bytes");
        }
    }

    /** {@code madvise(memory, memory.byteSize(), advice)}. */
    public static void madvise(MemorySegment memory, int advice) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) MADVISE.invokeExact(state, memory, memory.byteSize(), advice);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw new NativeCallException("madvise", NativeCall.errno(state), "advice " + advice);
        }
    }

    /** {@code epoll_create1(EPOLL_CLOEXEC)}. */
    public static int epollCreate() {
        MemorySegment state = NativeCall.callState();
        int fd;
        try {
            fd = (int) EPOLL_CREATE1.invokeExact(state, LinuxHeaders.EPOLL_CLOEXEC());
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (fd < 0) {
            throw new NativeCallException("epoll_create1", NativeCall.errno(state));
        }
        return fd;
    }

    /** {@code epoll_ctl(epfd, op, fd, {events, data})}. */
    public static void epollCtl(int epfd, int op, int fd, int events, long data) {
        MemorySegment state = NativeCall.callState();
        int result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment event = arena.allocate(epoll_event.layout());
            epoll_event.events(event, events);
            event.set(ValueLayout.JAVA_LONG_UNALIGNED, epoll_event.data$offset(), data);
            result = (int) EPOLL_CTL.invokeExact(state, epfd, op, fd, event);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw new NativeCallException("epoll_ctl", NativeCall.errno(state), "fd " + fd + ", op " + op);
        }
    }

    /** {@code epoll_wait(epfd, events, maxEvents, timeoutMs)}: the number of events, or {@code -errno}. Allocates nothing. */
    public static int epollWait(int epfd, MemorySegment events, int maxEvents, int timeoutMs) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) EPOLL_WAIT.invokeExact(state, epfd, events, maxEvents, timeoutMs);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /** {@code sigtimedwait(set, NULL, timeout)}: the signal taken, or {@code -errno} ({@code -EAGAIN} if none came). */
    public static int sigtimedwait(MemorySegment set, MemorySegment timeout) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) SIGTIMEDWAIT.invokeExact(state, set, MemorySegment.NULL, timeout);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code readv(fd, iovecs, count)}: bytes read, or {@code -errno}. Allocates nothing. The kernel writes where the
     * iovecs point: the caller guarantees that memory stays mapped during the call (as for {@link #pread}).
     */
    public static long readv(int fd, MemorySegment iovecs, int count) {
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) READV.invokeExact(state, fd, iovecs, count);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /** {@code writev(fd, iovecs, count)}: bytes written, or {@code -errno}. Allocates nothing; the duty of {@link #readv}. */
    public static long writev(int fd, MemorySegment iovecs, int count) {
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) WRITEV.invokeExact(state, fd, iovecs, count);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /** {@code recvmsg(fd, message, flags)}: bytes received, or {@code -errno}. Allocates nothing; the duty of {@link #readv}. */
    public static long recvmsg(int fd, MemorySegment message, int flags) {
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) RECVMSG.invokeExact(state, fd, message, flags);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /** {@code socket(domain, type | SOCK_CLOEXEC, 0)}; a failure names {@code what} the socket was for. */
    public static int socket(int domain, int type, String what) {
        Objects.requireNonNull(what, "what");
        MemorySegment state = NativeCall.callState();
        int fd;
        try {
            fd = (int) SOCKET.invokeExact(state, domain, type | LinuxHeaders.SOCK_CLOEXEC(), 0);
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
     * @return the two connected fds
     */
    public static int[] socketpair(int type) {
        MemorySegment state = NativeCall.callState();
        int result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            result = (int)
                    SOCKETPAIR.invokeExact(state, LinuxHeaders.AF_UNIX(), type | LinuxHeaders.SOCK_CLOEXEC(), 0, fds);
            if (result == 0) {
                return fds.toArray(ValueLayout.JAVA_INT);
            }
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        throw new NativeCallException("socketpair", NativeCall.errno(state));
    }

    /** {@code fcntl(fd, command, argument)}: the result, or {@code -errno}. */
    public static int fcntl(int fd, int command, int argument) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) FCNTL.invokeExact(state, fd, command, argument);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code setns(fd, type)}: moves the calling thread into the namespace {@code fd} refers to (a network namespace
     * moves only this thread).
     */
    public static void setns(int fd, int type) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) SETNS.invokeExact(state, fd, type);
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
     */
    public static long read(int fd, MemorySegment memory, long offset, long length) {
        long address = nativeAddress(memory, offset, length);
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) READ_AT_ADDRESS.invokeExact(state, fd, address, length);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code send(fd, memory + offset, length, MSG_DONTWAIT | MSG_NOSIGNAL)} from part of a native segment, with the
     * checks and the caller's duty of {@link #pread(int, MemorySegment, long, long, long)}: bytes sent, or
     * {@code -errno} ({@code -EAGAIN} when the socket has no room; {@code -EPIPE}, never SIGPIPE, when the peer is gone).
     */
    public static long send(int fd, MemorySegment memory, long offset, long length) {
        return send(fd, memory, offset, length, LinuxHeaders.MSG_DONTWAIT() | LinuxHeaders.MSG_NOSIGNAL());
    }

    /**
     * {@code send(fd, memory + offset, length, MSG_NOSIGNAL)}: as {@link #send(int, MemorySegment, long, long)}, but
     * waits for room on a blocking socket.
     */
    public static long sendWaiting(int fd, MemorySegment memory, long offset, long length) {
        return send(fd, memory, offset, length, LinuxHeaders.MSG_NOSIGNAL());
    }

    private static long send(int fd, MemorySegment memory, long offset, long length, int flags) {
        long address = nativeAddress(memory, offset, length);
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) SEND_AT_ADDRESS.invokeExact(state, fd, address, length, flags);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code bind(fd, path)} and {@code listen(fd, SOMAXCONN)} for a unix stream socket at {@code path}.
     *
     * @throws NativeCallException naming the path if either fails (EADDRINUSE: something already has that path)
     * @throws IllegalArgumentException if the path does not fit a {@code sockaddr_un} (107 bytes)
     */
    public static void bindAndListen(int fd, Path path) {
        MemorySegment state = NativeCall.callState();
        int result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = unixAddress(arena, path);
            result = (int) BIND.invokeExact(state, fd, address, (int) address.byteSize());
            if (result < 0) {
                throw new NativeCallException("bind", NativeCall.errno(state), "unix socket " + path);
            }
            result = (int) LISTEN.invokeExact(state, fd, LinuxHeaders.SOMAXCONN());
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
     * @throws IllegalArgumentException if the path does not fit a {@code sockaddr_un} (107 bytes)
     */
    public static int connect(int fd, Path path) {
        MemorySegment state = NativeCall.callState();
        int result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = unixAddress(arena, path);
            result = (int) CONNECT.invokeExact(state, fd, address, (int) address.byteSize());
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
     */
    public static int accept(int fd) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) ACCEPT4.invokeExact(
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

    /** {@code shutdown(fd, how)} with {@code how} one of SHUT_RD, SHUT_WR, SHUT_RDWR: 0, or {@code -errno}. */
    public static int shutdown(int fd, int how) {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) SHUTDOWN.invokeExact(state, fd, how);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /**
     * {@code timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)}.
     *
     * @return the timer's fd
     */
    public static int timerfdCreate() {
        MemorySegment state = NativeCall.callState();
        int fd;
        try {
            fd = (int) TIMERFD_CREATE.invokeExact(
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
     * it), then every {@code intervalNanos} (0: once).
     */
    public static void timerfdSettime(int fd, long firstNanos, long intervalNanos) {
        MemorySegment state = NativeCall.callState();
        int result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment spec = itimerspec.allocate(arena);
            setTimespec(itimerspec.it_value(spec), firstNanos);
            setTimespec(itimerspec.it_interval(spec), intervalNanos);
            result = (int) TIMERFD_SETTIME.invokeExact(state, fd, 0, spec, MemorySegment.NULL);
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
