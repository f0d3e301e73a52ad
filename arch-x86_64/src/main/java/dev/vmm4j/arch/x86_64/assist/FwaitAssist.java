// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.assist;

/**
 * {@code fwait} (0x9B) in the kernel: it waits for pending x87 exceptions, and Linux runs it on every task exit. A
 * kernel that never uses x87 has none pending, so completing it means skipping its one byte. In user mode it is refused.
 */
public final class FwaitAssist implements EmulationAssist {
    /** The opcode. */
    static final int FWAIT = 0x9b;

    /** The assist; {@link EmulationAssists#standard()} has one. */
    public FwaitAssist() {}

    @Override
    public String kind() {
        return "fwait";
    }

    @Override
    public boolean complete(FailedInstruction instruction, VcpuControl vcpu) {
        if (!instruction.inKernel() || !instruction.startsWith(FWAIT)) {
            return false;
        }
        vcpu.skip(1);
        return true;
    }
}
