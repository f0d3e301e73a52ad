// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.C_INT;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.C_LONG;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.C_POINTER;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCall;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.kvm.bindings.landlock_path_beneath_attr;
import dev.vmm4j.kvm.bindings.landlock_ruleset_attr;
import dev.vmm4j.kvm.bindings.sock_filter;
import dev.vmm4j.kvm.bindings.sock_fprog;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.List;

/**
 * The calls that build a jail: {@code prctl}, and {@code seccomp} and the three Landlock calls, which glibc 2.36 has
 * no wrappers for and which go through {@code syscall(SYS_..., ...)}. Internal to the package.
 *
 * <p>{@code prctl} and {@code syscall} are variadic; every variadic argument is passed as a full 64-bit
 * {@code long} (or a pointer), as the kernel reads whole registers: an {@code int} would leave the upper half of its
 * register undefined.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; errno is captured per thread. What the calls change is per
 * process (seccomp with TSYNC) or per thread (no_new_privs, Landlock).
 */
final class JailNative {
    // Each handle lives in a holder class, made on first use (Libc's pattern): most processes never jail themselves.
    private static final class Prctl {
        static final MethodHandle HANDLE = NativeCall.errnoCapturing(
                "prctl",
                FunctionDescriptor.of(C_INT, C_INT, C_LONG, C_LONG, C_LONG, C_LONG),
                Linker.Option.firstVariadicArg(1));
    }

    private static final class Seccomp {
        static final MethodHandle HANDLE = syscall(C_LONG, C_LONG, C_POINTER);
    }

    private static final class LandlockCreateRuleset {
        static final MethodHandle HANDLE = syscall(C_POINTER, C_LONG, C_LONG);
    }

    private static final class LandlockAddRule {
        static final MethodHandle HANDLE = syscall(C_LONG, C_LONG, C_POINTER, C_LONG);
    }

    private static final class LandlockRestrictSelf {
        static final MethodHandle HANDLE = syscall(C_LONG, C_LONG);
    }

    private JailNative() {}

    /**
     * {@code prctl(PR_SET_NO_NEW_PRIVS, 1)} for the calling thread (and the threads it starts later); seccomp's TSYNC
     * then sets it on every other thread too.
     */
    static void setNoNewPrivs() {
        MemorySegment state = NativeCall.callState();
        int result;
        try {
            result = (int) Prctl.HANDLE.invokeExact(state, LinuxHeaders.PR_SET_NO_NEW_PRIVS(), 1L, 0L, 0L, 0L);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw failure("prctl(PR_SET_NO_NEW_PRIVS, 1)", NativeCall.errno(state), "a jail cannot be set up");
        }
    }

    /** Installs {@code program} on every thread of the process. */
    static void installSeccompFilter(List<BpfInstruction> program, String policyName) {
        long result;
        int errno;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment filters = sock_filter.allocateArray(program.size(), arena);
            for (int i = 0; i < program.size(); i++) {
                BpfInstruction instruction = program.get(i);
                MemorySegment slot = sock_filter.asSlice(filters, i);
                sock_filter.code(slot, (short) instruction.code());
                sock_filter.jt(slot, (byte) instruction.jt());
                sock_filter.jf(slot, (byte) instruction.jf());
                sock_filter.k(slot, instruction.k());
            }
            MemorySegment fprog = sock_fprog.allocate(arena);
            sock_fprog.len(fprog, (short) program.size());
            sock_fprog.filter(fprog, filters);
            MemorySegment state = NativeCall.callState();
            result = (long) Seccomp.HANDLE.invokeExact(
                    state,
                    (long) LinuxHeaders.SYS_seccomp(),
                    (long) LinuxHeaders.SECCOMP_SET_MODE_FILTER(),
                    LinuxHeaders.SECCOMP_FILTER_FLAG_TSYNC(),
                    fprog);
            errno = NativeCall.errno(state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        String call = "seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC) of policy " + policyName;
        if (result < 0) {
            throw failure(call, errno, "the kernel refused the filter of " + program.size() + " instructions");
        }
        if (result > 0) {
            // With TSYNC, a positive result is the id of a thread that could not take the filter (it already has a
            // filter that is not an ancestor of ours, or is in seccomp strict mode); no thread got the filter.
            throw new JailException(call + " failed: thread " + result + " of this process cannot be synchronized"
                    + " (it runs under another seccomp filter or in strict mode); no thread was filtered");
        }
    }

    /** {@return the Landlock ABI version, or {@code -errno} (ENOSYS, EOPNOTSUPP) where the kernel has none} */
    static long landlockAbiVersion() {
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) LandlockCreateRuleset.HANDLE.invokeExact(
                    state, (long) LinuxHeaders.SYS_landlock_create_ruleset(), MemorySegment.NULL, 0L, (long)
                            LinuxHeaders.LANDLOCK_CREATE_RULESET_VERSION());
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        return result < 0 ? -NativeCall.errno(state) : result;
    }

    /** {@return a new ruleset fd that handles {@code handledAccessFs}} */
    static int landlockCreateRuleset(long handledAccessFs) {
        MemorySegment state = NativeCall.callState();
        long result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = landlock_ruleset_attr.allocate(arena);
            landlock_ruleset_attr.handled_access_fs(attr, handledAccessFs);
            result = (long) LandlockCreateRuleset.HANDLE.invokeExact(
                    state, (long) LinuxHeaders.SYS_landlock_create_ruleset(), attr, attr.byteSize(), 0L);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw failure(
                    "landlock_create_ruleset",
                    NativeCall.errno(state),
                    String.format("handled filesystem rights %#x", handledAccessFs));
        }
        return (int) result;
    }

    /** Allows {@code access} beneath the file or directory {@code pathFd} (an O_PATH fd for {@code path}). */
    static void landlockAddPathBeneath(int rulesetFd, int pathFd, long access, Path path) {
        MemorySegment state = NativeCall.callState();
        long result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = landlock_path_beneath_attr.allocate(arena);
            landlock_path_beneath_attr.allowed_access(attr, access);
            landlock_path_beneath_attr.parent_fd(attr, pathFd);
            result = (long) LandlockAddRule.HANDLE.invokeExact(
                    state,
                    (long) LinuxHeaders.SYS_landlock_add_rule(),
                    (long) rulesetFd,
                    (long) LinuxHeaders.LANDLOCK_RULE_PATH_BENEATH(),
                    attr,
                    0L);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw failure("landlock_add_rule " + path, NativeCall.errno(state), String.format("rights %#x", access));
        }
    }

    /** Restricts the calling thread (and the threads it starts later) to {@code rulesetFd}. */
    static void landlockRestrictSelf(int rulesetFd) {
        MemorySegment state = NativeCall.callState();
        long result;
        try {
            result = (long) LandlockRestrictSelf.HANDLE.invokeExact(
                    state, (long) LinuxHeaders.SYS_landlock_restrict_self(), (long) rulesetFd, 0L);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
        if (result < 0) {
            throw failure("landlock_restrict_self", NativeCall.errno(state), "no rule was applied");
        }
    }

    /** {@return an errno-capturing {@code long syscall(long number, ...)} taking {@code args} after the number} */
    private static MethodHandle syscall(MemoryLayout... args) {
        FunctionDescriptor descriptor = FunctionDescriptor.of(C_LONG, C_LONG).appendArgumentLayouts(args);
        return NativeCall.errnoCapturing("syscall", descriptor, Linker.Option.firstVariadicArg(1));
    }

    private static JailException failure(String call, int errno, String hint) {
        NativeCallException cause = new NativeCallException(call, errno, hint);
        return new JailException(cause.getMessage(), cause);
    }
}
