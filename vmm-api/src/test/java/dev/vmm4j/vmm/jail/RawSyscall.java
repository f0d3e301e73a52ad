// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.C_LONG;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCall;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** {@code syscall(nr, a0..a5)} with every argument a full word, for tests that probe a filter with exact values. */
final class RawSyscall {
    private static final MethodHandle SYSCALL = NativeCall.errnoCapturing(
            LinuxHeaders.syscall.address(),
            FunctionDescriptor.of(C_LONG, C_LONG, C_LONG, C_LONG, C_LONG, C_LONG, C_LONG, C_LONG),
            Linker.Option.firstVariadicArg(1));

    private RawSyscall() {}

    /** {@return the result, or {@code -errno}} */
    static long call(int nr, long... args) {
        long[] a = new long[6];
        System.arraycopy(args, 0, a, 0, args.length);
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) SYSCALL.invokeExact(state, (long) nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }
}
