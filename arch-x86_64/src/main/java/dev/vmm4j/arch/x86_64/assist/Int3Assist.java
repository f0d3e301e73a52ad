// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.assist;

/**
 * {@code int3} (0xCC) in the kernel: the breakpoint trap, which Linux executes in its boot-time self-test and relies on
 * whenever it patches live code (text_poke_bp). Completed as the CPU would: RIP moves past it and #BP (vector 3) is
 * delivered, so the kernel's own handler runs. An int3 in user mode is refused.
 */
public final class Int3Assist implements EmulationAssist {
    /** The opcode. */
    static final int INT3 = 0xcc;
    /** The breakpoint exception's vector. */
    static final int BREAKPOINT = 3;

    /** The assist; {@link EmulationAssists#standard()} has one. */
    public Int3Assist() {}

    @Override
    public String kind() {
        return "int3";
    }

    @Override
    public boolean complete(FailedInstruction instruction, VcpuControl vcpu) {
        if (!instruction.inKernel() || !instruction.startsWith(INT3)) {
            return false;
        }
        vcpu.skip(1);
        vcpu.injectException(BREAKPOINT);
        return true;
    }
}
