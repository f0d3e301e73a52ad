// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.kvm;

import dev.vmm4j.kvm.bindings.aarch64.Aarch64Headers;
import dev.vmm4j.kvm.bindings.aarch64.kvm_regs;
import dev.vmm4j.kvm.bindings.aarch64.user_pt_regs;

/**
 * KVM_{GET,SET}_ONE_REG ids of the arm64 core registers: {@code KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE}
 * and the register's offset in {@code struct kvm_regs} in 32-bit words (Documentation/virt/kvm/api.rst, 4.68), the
 * offsets taken from the generated layouts.
 */
public final class ArmRegisters {
    /** x0 (the device tree's address at boot). */
    public static final long X0 = core(kvm_regs.regs$offset() + user_pt_regs.regs$offset());
    /** The program counter. */
    public static final long PC = core(kvm_regs.regs$offset() + user_pt_regs.pc$offset());
    /** The processor state. */
    public static final long PSTATE = core(kvm_regs.regs$offset() + user_pt_regs.pstate$offset());
    /** The boot protocol's PSTATE: EL1h with debug, SError, IRQ and FIQ masked. */
    public static final long BOOT_PSTATE = Aarch64Headers.PSR_MODE_EL1h()
            | Aarch64Headers.PSR_D_BIT()
            | Aarch64Headers.PSR_A_BIT()
            | Aarch64Headers.PSR_I_BIT()
            | Aarch64Headers.PSR_F_BIT();

    private ArmRegisters() {}

    /**
     * {@return the id of the 64-bit core register at byte {@code offset} of struct kvm_regs}
     *
     * @param offset from the generated layouts, as for {@link #PC}; a multiple of 4 (not checked), since the id counts
     *     32-bit words
     */
    public static long core(long offset) {
        return Aarch64Headers.KVM_REG_ARM64()
                | Aarch64Headers.KVM_REG_SIZE_U64()
                | Aarch64Headers.KVM_REG_ARM_CORE()
                | (offset / 4);
    }
}
