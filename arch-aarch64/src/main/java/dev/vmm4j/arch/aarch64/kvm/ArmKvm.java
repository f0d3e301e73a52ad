package dev.vmm4j.arch.aarch64.kvm;

import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.Vm;

/**
 * The KVM calls {@code AArch64Arch} makes: vCPU init, core registers, the in-kernel GIC. {@link SystemArmKvm} makes
 * them for real; tests give a fake that records them, so that the exact ioctls, register ids and values are checked
 * on any host.
 *
 * <p><b>Thread safety:</b> implementations must be safe for concurrent use.
 */
public interface ArmKvm {
    /** {@return the vCPU target KVM prefers on this host (KVM_ARM_PREFERRED_TARGET on {@code vm})} */
    int preferredTarget(Vm vm);

    /** KVM_ARM_VCPU_INIT on {@code vcpu} with {@code target} and the feature bits of {@code features[0]}. */
    void initVcpu(Vcpu vcpu, int target, int features);

    /** KVM_SET_ONE_REG of the 64-bit register {@code id}. */
    void setRegister(Vcpu vcpu, long id, long value);

    /** {@return KVM_GET_ONE_REG of the 64-bit register {@code id}} */
    long getRegister(Vcpu vcpu, long id);

    /** {@return whether KVM can create device {@code type} in {@code vm} (KVM_CREATE_DEVICE_TEST)} */
    boolean supportsDevice(Vm vm, int type);

    /** {@return a new in-kernel device of {@code type} (KVM_CREATE_DEVICE); the VM owns it} */
    Device createDevice(Vm vm, int type);

    /** An in-kernel device's attributes (KVM_SET_DEVICE_ATTR). */
    interface Device {
        /** Sets attribute {@code attr} of {@code group} to {@code value} (passed by address, as KVM expects). */
        void setAttribute(int group, long attr, long value);

        /** Sets attribute {@code attr} of {@code group}, one that takes no value (a control command). */
        void setAttribute(int group, long attr);
    }
}
