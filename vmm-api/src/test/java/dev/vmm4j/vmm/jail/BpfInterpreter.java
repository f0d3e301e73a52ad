// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Runs a seccomp program the way the kernel's classic BPF checker and interpreter would, for the instructions
 * {@link SeccompFilter} emits, against a {@code seccomp_data} made up by a test: nothing is installed. It refuses what
 * the kernel would refuse (unknown opcodes, loads outside {@code seccomp_data} or unaligned, jumps out of the program,
 * falling off its end), so a broken program fails the test instead of running.
 */
final class BpfInterpreter {
    private static final int SECCOMP_DATA_SIZE = 64;

    private BpfInterpreter() {}

    /** {@return the program's return value for syscall {@code nr} of {@code arch} with {@code args} (missing ones 0)} */
    static int run(List<BpfInstruction> program, int nr, int arch, long... args) {
        ByteBuffer data = ByteBuffer.allocate(SECCOMP_DATA_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        data.putInt(0, nr).putInt(4, arch).putLong(8, 0x7f00_1234_5678L);
        for (int i = 0; i < args.length; i++) {
            data.putLong(16 + 8 * i, args[i]);
        }
        int a = 0;
        int pc = 0;
        int steps = 0;
        while (true) {
            if (pc < 0 || pc >= program.size()) {
                throw new AssertionError("the program ran off its end at " + pc + " of " + program.size());
            }
            if (++steps > program.size()) {
                throw new AssertionError("more steps than instructions: classic BPF only jumps forward");
            }
            BpfInstruction insn = program.get(pc);
            int next = pc + 1;
            switch (insn.code()) {
                case 0x20 -> { // BPF_LD | BPF_W | BPF_ABS
                    if (insn.k() < 0 || insn.k() > SECCOMP_DATA_SIZE - 4 || (insn.k() & 3) != 0) {
                        throw new AssertionError("load at offset " + insn.k() + ", outside seccomp_data or unaligned");
                    }
                    a = data.getInt(insn.k());
                }
                case 0x54 -> a &= insn.k(); // BPF_ALU | BPF_AND | BPF_K
                case 0x05 -> next = jump(program, pc, insn.k()); // BPF_JMP | BPF_JA
                case 0x15 -> next = jump(program, pc, a == insn.k() ? insn.jt() : insn.jf()); // JEQ
                case 0x25 -> next = jump(program, pc, Integer.compareUnsigned(a, insn.k()) > 0 ? insn.jt() : insn.jf());
                case 0x35 ->
                    next = jump(program, pc, Integer.compareUnsigned(a, insn.k()) >= 0 ? insn.jt() : insn.jf());
                case 0x45 -> next = jump(program, pc, (a & insn.k()) != 0 ? insn.jt() : insn.jf()); // JSET
                case 0x06 -> { // BPF_RET | BPF_K
                    return insn.k();
                }
                default -> throw new AssertionError("opcode the kernel's seccomp checker would refuse: " + insn);
            }
            pc = next;
        }
    }

    private static int jump(List<BpfInstruction> program, int pc, int offset) {
        int target = pc + 1 + offset;
        if (offset < 0 || target >= program.size()) {
            throw new AssertionError("jump from " + pc + " by " + offset + " leaves the program of " + program.size());
        }
        return target;
    }
}
