// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.kvm.bindings;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.C_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.lang.ref.Reference;
import java.util.Objects;

/**
 * Calls into libc that report failure through {@code errno}, with {@code errno} captured by the linker
 * ({@link Linker.Option#captureCallState}) so that nothing the JVM does between the call and the check can
 * overwrite it.
 *
 * <p>Two styles, for two kinds of caller:
 * <ul>
 *   <li>hot paths ({@code KVM_RUN}) call {@link #ioctl(int, long, long)}, which returns the result, or
 *       {@code -errno} on failure, and allocates nothing;</li>
 *   <li>everything else calls {@link #checkedIoctl(String, int, long, long)} or {@link #check(String, int)},
 *       which throw a {@link NativeCallException} naming the call: {@code KVM_CREATE_VCPU failed: EEXIST (File exists)}.</li>
 * </ul>
 * Every system call goes through {@link #syscall}. A libc function that is not a system call can get an
 * errno-capturing handle from {@link #errnoCapturing}; its first argument is then {@link #callState()}, and
 * {@link #errno(MemorySegment)} reads the result.
 *
 * <p>{@code ioctl}, like the other calls every VM makes ({@link Syscall}), goes through libc's {@code syscall(2)}
 * with all six argument registers given: one downcall stub for them all. ({@code ioctl} is variadic, and calling it
 * with two arguments would leave the third register undefined: {@code KVM_RUN} and {@code KVM_GET_API_VERSION} then
 * fail with {@code EINVAL}.)
 *
 * <p><b>Thread safety:</b> safe for concurrent use; the call state is per thread.
 */
public final class NativeCall {
    private static final StructLayout CALL_STATE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE_LAYOUT.varHandle(PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> CALL_STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE_LAYOUT));

    /** libc's {@code long syscall(long number, ...)} with six arguments: one downcall stub for every {@link Syscall}. */
    private static final MethodHandle SYSCALL = errnoCapturing(
            symbol("syscall"),
            FunctionDescriptor.of(C_LONG, C_LONG, C_LONG, C_LONG, C_LONG, C_LONG, C_LONG, C_LONG),
            Linker.Option.firstVariadicArg(1));

    private NativeCall() {}

    /**
     * A downcall handle for {@code function} that captures {@code errno}: its first parameter is a call-state
     * segment (use {@link #callState()}), followed by the parameters of {@code descriptor}.
     */
    @SuppressWarnings("restricted")
    public static MethodHandle errnoCapturing(
            MemorySegment function, FunctionDescriptor descriptor, Linker.Option... options) {
        Objects.requireNonNull(function, "function");
        Objects.requireNonNull(descriptor, "descriptor");
        Linker.Option[] all = new Linker.Option[options.length + 1];
        all[0] = Linker.Option.captureCallState("errno");
        System.arraycopy(options, 0, all, 1, options.length);
        return Linker.nativeLinker().downcallHandle(function, descriptor, all);
    }

    /**
     * {@return the address of the C library function {@code name}} Looked up as jextract's bindings look it up, but
     * without initialising their holder class for it.
     *
     * @param name the function's symbol
     * @throws java.util.NoSuchElementException if there is no such function
     */
    private static MemorySegment symbol(String name) {
        Objects.requireNonNull(name, "name");
        return LinuxHeaders_1.SYMBOL_LOOKUP.findOrThrow(name);
    }

    /** {@return this thread's call-state segment, to pass as the first argument of an {@link #errnoCapturing} handle} */
    public static MemorySegment callState() {
        return CALL_STATE.get();
    }

    /** {@return the errno that the last errno-capturing call given {@code callState} left there} */
    public static int errno(MemorySegment callState) {
        return (int) ERRNO.get(callState, 0L);
    }

    /**
     * Makes system call {@code call} with up to six arguments (pass 0 for those it does not take), through libc's
     * {@code syscall(2)}: the kernel's result, or {@code -errno} on failure. Allocates nothing.
     *
     * <p>A pointer argument is passed as its address ({@link MemorySegment#address()}): unlike a segment passed to a
     * downcall, nothing keeps its memory alive during the call, so the caller must hold the segment (see
     * {@link java.lang.ref.Reference#reachabilityFence}) and keep its arena open until this returns.
     *
     * @param call the system call
     * @param a1 its first argument, as a register holds it: an int sign-extended, a pointer's address
     * @param a2 its second argument
     * @param a3 its third argument
     * @param a4 its fourth argument
     * @param a5 its fifth argument
     * @param a6 its sixth argument
     * @return the result (0 or more), or {@code -errno}
     */
    public static long syscall(Syscall call, long a1, long a2, long a3, long a4, long a5, long a6) {
        MemorySegment state = CALL_STATE.get();
        long result;
        try {
            result = (long) SYSCALL.invokeExact(state, call.number(), a1, a2, a3, a4, a5, a6);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return result == -1 ? -errno(state) : result;
    }

    /**
     * {@return the address of {@code segment}, for a pointer argument of {@link #syscall}} It must be native memory (a
     * heap array has no fixed address), open, and the calling thread's to use: the checks a downcall makes of a
     * segment argument, short of holding its arena open during the call. The caller keeps the segment reachable until
     * the call returns ({@link Reference#reachabilityFence}).
     *
     * @param segment the memory the pointer points to; {@link MemorySegment#NULL} gives 0
     * @throws IllegalArgumentException if it is heap memory
     * @throws IllegalStateException if its arena is closed
     * @throws WrongThreadException if it belongs to another thread's confined arena
     */
    public static long address(MemorySegment segment) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("a system call's buffer must be native memory, not " + segment);
        }
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException("a system call's buffer was already freed: " + segment);
        }
        if (!segment.isAccessibleBy(Thread.currentThread())) {
            throw new WrongThreadException("a system call's buffer belongs to another thread: " + segment);
        }
        return segment.address();
    }

    /** {@code ioctl(fd, request, arg)}: the result, or {@code -errno} on failure. Allocates nothing. */
    public static int ioctl(int fd, long request, long arg) {
        return (int) syscall(Syscall.IOCTL, fd, request, arg, 0, 0, 0);
    }

    /**
     * {@code ioctl(fd, request, arg)} with a pointer argument: the result, or {@code -errno} on failure.
     *
     * @param arg native memory, which must stay open during the call; it is kept reachable until the call returns
     */
    public static int ioctl(int fd, long request, MemorySegment arg) {
        try {
            return ioctl(fd, request, address(arg));
        } finally {
            Reference.reachabilityFence(arg); // an automatic arena's memory must outlive the call
        }
    }

    /** {@code ioctl(fd, request, arg)}; a failure throws a {@link NativeCallException} naming {@code name}. */
    public static int checkedIoctl(String name, int fd, long request, long arg) {
        return check(name, ioctl(fd, request, arg));
    }

    /** {@code ioctl(fd, request, arg)} with a pointer; a failure throws a {@link NativeCallException} naming {@code name}. */
    public static int checkedIoctl(String name, int fd, long request, MemorySegment arg) {
        return check(name, ioctl(fd, request, arg));
    }

    /** {@return {@code result} if it is not negative; else throws a {@link NativeCallException} for {@code call} with errno {@code -result}} */
    public static int check(String call, int result) {
        if (result < 0) {
            throw new NativeCallException(call, -result);
        }
        return result;
    }

    /**
     * Rethrows what a downcall handle's {@code invokeExact} threw: downcalls throw only unchecked exceptions and
     * errors, so a checked one is wrapped. Declared to return, so callers can write {@code throw rethrow(t)}.
     */
    public static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("downcall threw a checked exception", t);
    }
}
