// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.AUDIT_ARCH_X86_64;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.BPF_ABS;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.BPF_ALU;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.BPF_AND;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.BPF_JEQ;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.BPF_JMP;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.BPF_JSET;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.BPF_K;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.BPF_LD;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.BPF_RET;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.BPF_W;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.EPERM;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.SECCOMP_RET_ALLOW;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.SECCOMP_RET_DATA;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.SECCOMP_RET_ERRNO;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.SECCOMP_RET_KILL_PROCESS;

import dev.vmm4j.kvm.bindings.seccomp_data;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A {@link SyscallPolicy} compiled into a classic BPF program for {@code seccomp(SECCOMP_SET_MODE_FILTER)}, and its
 * installation.
 *
 * <h2>The program</h2>
 * <pre>
 *   load arch;  arch != AUDIT_ARCH_X86_64          -> SECCOMP_RET_KILL_PROCESS  (another ABI's numbers mean other calls)
 *   load nr;    nr &amp; 0x40000000 (x32 ABI)         -> SECCOMP_RET_ERRNO | EPERM
 *   for each rule, in the policy's order:
 *     nr == rule's number -> its block:
 *       allowed always                             -> SECCOMP_RET_ALLOW
 *       each argument check: load the low half, AND the mask, compare; then the high half
 *                            both halves match     -> SECCOMP_RET_ALLOW
 *       no check held                              -> SECCOMP_RET_ERRNO | the rule's errno (EPERM by default)
 *   no rule                                        -> SECCOMP_RET_ERRNO | EPERM
 * </pre>
 * Conditional jumps reach at most 255 instructions ahead; a rule whose block is longer is skipped with an
 * unconditional jump (32-bit offset), so policies of any size compile, up to the kernel's 4096 instructions.
 *
 * <p>Only x86_64 is supported: the policies name x86_64's syscalls and the numbers are x86_64's.
 *
 * <p><b>Thread safety:</b> immutable and safe for concurrent use; {@link #install()} changes the calling process.
 */
public final class SeccompFilter {
    /** The kernel's limit on one filter's length ({@code BPF_MAXINSNS}). */
    static final int MAX_INSTRUCTIONS = 4096;

    /** Syscall numbers with this bit set are the x32 ABI's, which an x86_64 filter must not mistake for its own. */
    static final int X32_SYSCALL_BIT = 0x4000_0000;

    /** {@code BPF_JA} from {@code <linux/bpf_common.h>}, which the bindings do not carry: an unconditional jump. */
    private static final int BPF_JA = 0x00;

    private static final int LOAD = BPF_LD() | BPF_W() | BPF_ABS();
    private static final int JEQ = BPF_JMP() | BPF_JEQ() | BPF_K();
    private static final int JSET = BPF_JMP() | BPF_JSET() | BPF_K();
    private static final int JA = BPF_JMP() | BPF_JA;
    private static final int AND = BPF_ALU() | BPF_AND() | BPF_K();
    private static final int RET = BPF_RET() | BPF_K();
    private static final int MAX_JUMP = 255;

    private final SyscallPolicy policy;
    private final List<BpfInstruction> instructions;

    private SeccompFilter(SyscallPolicy policy, List<BpfInstruction> instructions) {
        this.policy = policy;
        this.instructions = List.copyOf(instructions);
    }

    /**
     * {@return {@code policy} compiled for this host}
     *
     * @param policy the syscalls to allow, with their argument rules and default action; its names are looked up in
     *     x86_64's syscall table
     * @throws JailException if this host is not x86_64
     * @throws IllegalArgumentException if the program would be longer than the kernel's 4096 instructions
     */
    public static SeccompFilter compile(SyscallPolicy policy) {
        Objects.requireNonNull(policy, "policy");
        return compile(policy, System.getProperty("os.arch"));
    }

    /** {@link #compile(SyscallPolicy)} as if on {@code osArch} (a value of {@code os.arch}), for tests. */
    static SeccompFilter compile(SyscallPolicy policy, String osArch) {
        if (!"amd64".equals(osArch) && !"x86_64".equals(osArch)) {
            throw new JailException("cannot compile seccomp policy " + policy.name() + " on " + osArch
                    + ": the policy tables are x86_64's (syscall names and numbers differ per architecture), and"
                    + " this host is not x86_64");
        }
        List<BpfInstruction> program = new ArrayList<>();
        program.add(insn(LOAD, 0, 0, (int) seccomp_data.arch$offset()));
        program.add(insn(JEQ, 1, 0, AUDIT_ARCH_X86_64()));
        program.add(insn(RET, 0, 0, SECCOMP_RET_KILL_PROCESS()));
        program.add(insn(LOAD, 0, 0, (int) seccomp_data.nr$offset()));
        program.add(insn(JSET, 0, 1, X32_SYSCALL_BIT));
        program.add(insn(RET, 0, 0, errno(EPERM())));
        for (SyscallRule rule : policy.rules()) {
            List<BpfInstruction> block = block(rule);
            if (block.size() <= MAX_JUMP) {
                program.add(insn(JEQ, 0, block.size(), rule.number()));
            } else {
                program.add(insn(JEQ, 1, 0, rule.number()));
                program.add(insn(JA, 0, 0, block.size()));
            }
            program.addAll(block);
        }
        program.add(insn(RET, 0, 0, errno(EPERM())));
        if (program.size() > MAX_INSTRUCTIONS) {
            throw new IllegalArgumentException("seccomp policy " + policy.name() + " compiles to " + program.size()
                    + " instructions, more than the kernel's limit of " + MAX_INSTRUCTIONS
                    + ": split it, or use fewer argument checks");
        }
        return new SeccompFilter(policy, program);
    }

    /** The instructions after a rule's number matched: every path ends in a return. */
    private static List<BpfInstruction> block(SyscallRule rule) {
        List<BpfInstruction> block = new ArrayList<>();
        if (rule.always()) {
            block.add(insn(RET, 0, 0, SECCOMP_RET_ALLOW()));
            return block;
        }
        for (SyscallRule.ArgumentCheck check : rule.checks()) {
            block.addAll(check(check));
        }
        block.add(insn(RET, 0, 0, errno(rule.errno() == 0 ? EPERM() : rule.errno())));
        return block;
    }

    /**
     * One argument check: each 32-bit half of the argument (low first: x86_64 is little-endian) is loaded, masked and
     * compared; a mismatch jumps past the check's closing {@code RET ALLOW}, to the next check. A half with an empty
     * mask is not tested at all (the builder made sure its value is 0 too).
     */
    private static List<BpfInstruction> check(SyscallRule.ArgumentCheck check) {
        int lowOffset = (int) (seccomp_data.args$offset() + Long.BYTES * check.argIndex());
        List<BpfInstruction> code = new ArrayList<>();
        // {position, value} of each compare, filled in once the check's length is known.
        List<int[]> compares = new ArrayList<>();
        for (int half = 0; half < 2; half++) {
            int mask = (int) (check.mask() >>> (32 * half));
            int value = (int) (check.value() >>> (32 * half));
            if (mask == 0) {
                continue;
            }
            code.add(insn(LOAD, 0, 0, lowOffset + Integer.BYTES * half));
            if (mask != -1) {
                code.add(insn(AND, 0, 0, mask));
            }
            compares.add(new int[] {code.size(), value});
            code.add(null);
        }
        code.add(insn(RET, 0, 0, SECCOMP_RET_ALLOW()));
        for (int[] compare : compares) {
            int position = compare[0];
            code.set(position, insn(JEQ, 0, code.size() - 1 - position, compare[1]));
        }
        return code;
    }

    private static int errno(int errno) {
        return SECCOMP_RET_ERRNO() | (errno & SECCOMP_RET_DATA());
    }

    private static BpfInstruction insn(int code, int jt, int jf, int k) {
        return new BpfInstruction(code, jt, jf, k);
    }

    /** {@return the policy this filter was compiled from} */
    public SyscallPolicy policy() {
        return policy;
    }

    /** {@return the program, as {@code struct sock_filter}s; immutable} */
    public List<BpfInstruction> instructions() {
        return instructions;
    }

    /**
     * Installs the filter on every thread of this process, for the rest of its life: first
     * {@code prctl(PR_SET_NO_NEW_PRIVS, 1)} (without which an unprivileged process may not install a filter, and
     * which stops a later {@code execve} from gaining privileges), then
     * {@code seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, program)}: TSYNC applies the filter to every
     * existing JVM thread (GC, JIT, the signal dispatcher...) at once, not just to the calling one. Threads started
     * later inherit it. Filters stack: installing a second one means a call must pass both.
     *
     * @throws JailException if the kernel refuses either step; nothing of the filter is in place then (a failed
     *     {@code seccomp} call installs nothing, on any thread)
     */
    public void install() {
        JailNative.setNoNewPrivs();
        JailNative.installSeccompFilter(instructions, policy.name());
    }

    @Override
    public String toString() {
        return "SeccompFilter[" + policy.name() + ", " + instructions.size() + " instructions]";
    }
}
