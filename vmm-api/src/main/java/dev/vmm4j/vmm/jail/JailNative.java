// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCall;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.kvm.bindings.Syscall;
import dev.vmm4j.kvm.bindings.landlock_path_beneath_attr;
import dev.vmm4j.kvm.bindings.landlock_ruleset_attr;
import dev.vmm4j.kvm.bindings.sock_filter;
import dev.vmm4j.kvm.bindings.sock_fprog;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * The calls that build a jail: {@code prctl}, {@code seccomp} and the three Landlock calls (glibc 2.36 has no
 * wrappers for the last four), made as system calls through {@link NativeCall#syscall} like all of
 * {@link dev.vmm4j.vmm.sys.Libc}'s: every argument a full 64-bit register, as the kernel reads it. Internal to the
 * package.
 *
 * <p><b>Thread safety:</b> safe for concurrent use. What the calls change is per
 * process (seccomp with TSYNC) or per thread (no_new_privs, Landlock).
 */
final class JailNative {
    private JailNative() {}

    /**
     * {@code prctl(PR_SET_NO_NEW_PRIVS, 1)} for the calling thread (and the threads it starts later); seccomp's TSYNC
     * then sets it on every other thread too.
     */
    static void setNoNewPrivs() {
        long result = NativeCall.syscall(Syscall.PRCTL, LinuxHeaders.PR_SET_NO_NEW_PRIVS(), 1, 0, 0, 0, 0);
        if (result < 0) {
            throw failure("prctl(PR_SET_NO_NEW_PRIVS, 1)", (int) -result, "a jail cannot be set up");
        }
    }

    /** Installs {@code program} on every thread of the process. */
    static void installSeccompFilter(List<BpfInstruction> program, String policyName) {
        long result;
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
            result = NativeCall.syscall(
                    Syscall.SECCOMP,
                    LinuxHeaders.SECCOMP_SET_MODE_FILTER(),
                    LinuxHeaders.SECCOMP_FILTER_FLAG_TSYNC(),
                    fprog.address(),
                    0,
                    0,
                    0);
        }
        String call = "seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC) of policy " + policyName;
        if (result < 0) {
            throw failure(call, (int) -result, "the kernel refused the filter of " + program.size() + " instructions");
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
        return NativeCall.syscall(
                Syscall.LANDLOCK_CREATE_RULESET, 0, 0, LinuxHeaders.LANDLOCK_CREATE_RULESET_VERSION(), 0, 0, 0);
    }

    /** {@return a new ruleset fd that handles {@code handledAccessFs}} */
    static int landlockCreateRuleset(long handledAccessFs) {
        long result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = landlock_ruleset_attr.allocate(arena);
            landlock_ruleset_attr.handled_access_fs(attr, handledAccessFs);
            result = NativeCall.syscall(Syscall.LANDLOCK_CREATE_RULESET, attr.address(), attr.byteSize(), 0, 0, 0, 0);
        }
        if (result < 0) {
            throw failure(
                    "landlock_create_ruleset",
                    (int) -result,
                    String.format("handled filesystem rights %#x", handledAccessFs));
        }
        return (int) result;
    }

    /** Allows {@code access} beneath the file or directory {@code pathFd} (an O_PATH fd for {@code path}). */
    static void landlockAddPathBeneath(int rulesetFd, int pathFd, long access, Path path) {
        long result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = landlock_path_beneath_attr.allocate(arena);
            landlock_path_beneath_attr.allowed_access(attr, access);
            landlock_path_beneath_attr.parent_fd(attr, pathFd);
            result = NativeCall.syscall(
                    Syscall.LANDLOCK_ADD_RULE,
                    rulesetFd,
                    LinuxHeaders.LANDLOCK_RULE_PATH_BENEATH(),
                    attr.address(),
                    0,
                    0,
                    0);
        }
        if (result < 0) {
            throw failure("landlock_add_rule " + path, (int) -result, String.format("rights %#x", access));
        }
    }

    /** Restricts the calling thread (and the threads it starts later) to {@code rulesetFd}. */
    static void landlockRestrictSelf(int rulesetFd) {
        long result = NativeCall.syscall(Syscall.LANDLOCK_RESTRICT_SELF, rulesetFd, 0, 0, 0, 0, 0);
        if (result < 0) {
            throw failure("landlock_restrict_self", (int) -result, "no rule was applied");
        }
    }

    private static JailException failure(String call, int errno, String hint) {
        NativeCallException cause = new NativeCallException(call, errno, hint);
        return new JailException(cause.getMessage(), cause);
    }
}
