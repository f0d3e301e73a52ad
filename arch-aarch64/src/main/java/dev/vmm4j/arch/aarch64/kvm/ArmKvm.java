// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.kvm;

import dev.vmm4j.vmm.kvm.Vcpu;
import java.util.List;

/**
 * The KVM calls one aarch64 VM's machine makes, its vCPUs named by id: vCPU creation and init, core registers, the
 * in-kernel GIC. {@link SystemArmKvm} makes them on a real VM through vmm-api's typed calls (which throw
 * {@link dev.vmm4j.vmm.kvm.KvmException}, as every KVM call does); a test gives a fake that records them, so that the
 * exact sequence, register ids and values are checked on any host, without KVM.
 *
 * <p><b>Thread safety:</b> implementations must be safe for concurrent use.
 */
public interface ArmKvm {
    /**
     * {@return whether KVM can create device {@code type} in this VM (KVM_CREATE_DEVICE_TEST)}
     *
     * @param type a {@code KVM_DEV_TYPE_*} value, such as {@code KVM_DEV_TYPE_ARM_VGIC_V3}
     */
    boolean supportsDevice(int type);

    /**
     * {@return a new in-kernel device of {@code type} (KVM_CREATE_DEVICE); the VM owns it}
     *
     * @param type a {@code KVM_DEV_TYPE_*} value this VM supports (see {@link #supportsDevice})
     */
    Device createDevice(int type);

    /** {@return the vCPU target KVM prefers on this host (KVM_ARM_PREFERRED_TARGET)} */
    int preferredTarget();

    /**
     * Creates vCPU {@code id} (KVM_CREATE_VCPU); the VM owns it.
     *
     * @param id the next id: vCPUs are created in order from 0 ({@link SystemArmKvm} refuses any other)
     */
    void createVcpu(int id);

    /**
     * KVM_ARM_VCPU_INIT on vCPU {@code id} with {@code target} and the feature bits of {@code features[0]}.
     *
     * @param id a vCPU created by {@link #createVcpu}
     * @param target the CPU model KVM emulates, normally {@link #preferredTarget()}
     * @param features {@code 1 << KVM_ARM_VCPU_*} bits, such as {@code KVM_ARM_VCPU_PSCI_0_2}; only the first 32
     *     features can be asked for
     */
    void initVcpu(int id, int target, int features);

    /**
     * KVM_SET_ONE_REG of the 64-bit register {@code reg} of vCPU {@code vcpu}.
     *
     * @param vcpu the id of a vCPU created by {@link #createVcpu}
     * @param reg a 64-bit register's one_reg id, such as {@link ArmRegisters#PC}
     * @param value the register's new contents
     */
    void setRegister(int vcpu, long reg, long value);

    /**
     * {@return KVM_GET_ONE_REG of the 64-bit register {@code reg} of vCPU {@code vcpu}}
     *
     * @param vcpu the id of a vCPU created by {@link #createVcpu}
     * @param reg a 64-bit register's one_reg id, such as {@link ArmRegisters#PC}
     */
    long getRegister(int vcpu, long reg);

    /** {@return the vCPUs created so far, in id order, for the VM to run (a fake, which has none, returns none)} */
    List<Vcpu> vcpus();

    /** An in-kernel device's attributes (KVM_SET_DEVICE_ATTR). */
    interface Device {
        /**
         * Sets attribute {@code attr} of {@code group} to {@code value} (passed by address, as KVM expects).
         *
         * @param group the attribute group, such as {@code KVM_DEV_ARM_VGIC_GRP_ADDR}
         * @param attr the attribute in that group, such as {@code KVM_VGIC_V3_ADDR_TYPE_DIST}
         * @param value the 64-bit value, such as a guest-physical address
         */
        void setAttribute(int group, long attr, long value);

        /**
         * Sets attribute {@code attr} of {@code group}, one that takes no value (a control command).
         *
         * @param group the attribute group, such as {@code KVM_DEV_ARM_VGIC_GRP_CTRL}
         * @param attr the command, such as {@code KVM_DEV_ARM_VGIC_CTRL_INIT}
         */
        void setAttribute(int group, long attr);
    }
}
