// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import dev.vmm4j.kvm.bindings.LinuxHeaders;

/**
 * KVM capabilities ({@code KVM_CAP_*}), for {@link Kvm#checkExtension(Capability)}, {@link Kvm#requireCapability}
 * and {@link Vm#enableCap}. The numbers come from the generated bindings; {@link #number()} gives them.
 */
public enum Capability {
    USER_MEMORY(LinuxHeaders.KVM_CAP_USER_MEMORY()),
    SET_TSS_ADDR(LinuxHeaders.KVM_CAP_SET_TSS_ADDR()),
    SET_IDENTITY_MAP_ADDR(LinuxHeaders.KVM_CAP_SET_IDENTITY_MAP_ADDR()),
    EXT_CPUID(LinuxHeaders.KVM_CAP_EXT_CPUID()),
    EXT_EMUL_CPUID(LinuxHeaders.KVM_CAP_EXT_EMUL_CPUID()),
    MP_STATE(LinuxHeaders.KVM_CAP_MP_STATE()),
    IRQCHIP(LinuxHeaders.KVM_CAP_IRQCHIP()),
    HLT(LinuxHeaders.KVM_CAP_HLT()),
    SYNC_MMU(LinuxHeaders.KVM_CAP_SYNC_MMU()),
    COALESCED_MMIO(LinuxHeaders.KVM_CAP_COALESCED_MMIO()),
    PIT2(LinuxHeaders.KVM_CAP_PIT2()),
    PIT_STATE2(LinuxHeaders.KVM_CAP_PIT_STATE2()),
    IRQ_ROUTING(LinuxHeaders.KVM_CAP_IRQ_ROUTING()),
    IRQ_INJECT_STATUS(LinuxHeaders.KVM_CAP_IRQ_INJECT_STATUS()),
    IRQFD(LinuxHeaders.KVM_CAP_IRQFD()),
    IRQFD_RESAMPLE(LinuxHeaders.KVM_CAP_IRQFD_RESAMPLE()),
    IOEVENTFD(LinuxHeaders.KVM_CAP_IOEVENTFD()),
    IOEVENTFD_NO_LENGTH(LinuxHeaders.KVM_CAP_IOEVENTFD_NO_LENGTH()),
    IOEVENTFD_ANY_LENGTH(LinuxHeaders.KVM_CAP_IOEVENTFD_ANY_LENGTH()),
    SIGNAL_MSI(LinuxHeaders.KVM_CAP_SIGNAL_MSI()),
    MSI_DEVID(LinuxHeaders.KVM_CAP_MSI_DEVID()),
    READONLY_MEM(LinuxHeaders.KVM_CAP_READONLY_MEM()),
    IMMEDIATE_EXIT(LinuxHeaders.KVM_CAP_IMMEDIATE_EXIT()),
    ONE_REG(LinuxHeaders.KVM_CAP_ONE_REG()),
    DEVICE_CTRL(LinuxHeaders.KVM_CAP_DEVICE_CTRL()),
    ENABLE_CAP(LinuxHeaders.KVM_CAP_ENABLE_CAP()),
    ENABLE_CAP_VM(LinuxHeaders.KVM_CAP_ENABLE_CAP_VM()),
    NR_VCPUS(LinuxHeaders.KVM_CAP_NR_VCPUS()),
    MAX_VCPUS(LinuxHeaders.KVM_CAP_MAX_VCPUS()),
    MAX_VCPU_ID(LinuxHeaders.KVM_CAP_MAX_VCPU_ID()),
    NR_MEMSLOTS(LinuxHeaders.KVM_CAP_NR_MEMSLOTS()),
    MULTI_ADDRESS_SPACE(LinuxHeaders.KVM_CAP_MULTI_ADDRESS_SPACE()),
    KVMCLOCK_CTRL(LinuxHeaders.KVM_CAP_KVMCLOCK_CTRL()),
    ADJUST_CLOCK(LinuxHeaders.KVM_CAP_ADJUST_CLOCK()),
    TSC_CONTROL(LinuxHeaders.KVM_CAP_TSC_CONTROL()),
    GET_TSC_KHZ(LinuxHeaders.KVM_CAP_GET_TSC_KHZ()),
    XSAVE(LinuxHeaders.KVM_CAP_XSAVE()),
    XCRS(LinuxHeaders.KVM_CAP_XCRS()),
    DEBUGREGS(LinuxHeaders.KVM_CAP_DEBUGREGS()),
    VCPU_EVENTS(LinuxHeaders.KVM_CAP_VCPU_EVENTS()),
    SET_GUEST_DEBUG(LinuxHeaders.KVM_CAP_SET_GUEST_DEBUG()),
    GET_MSR_FEATURES(LinuxHeaders.KVM_CAP_GET_MSR_FEATURES()),
    SPLIT_IRQCHIP(LinuxHeaders.KVM_CAP_SPLIT_IRQCHIP()),
    X2APIC_API(LinuxHeaders.KVM_CAP_X2APIC_API()),
    X86_DISABLE_EXITS(LinuxHeaders.KVM_CAP_X86_DISABLE_EXITS()),
    X86_USER_SPACE_MSR(LinuxHeaders.KVM_CAP_X86_USER_SPACE_MSR()),
    EXCEPTION_PAYLOAD(LinuxHeaders.KVM_CAP_EXCEPTION_PAYLOAD()),
    SYSTEM_EVENT_DATA(LinuxHeaders.KVM_CAP_SYSTEM_EVENT_DATA()),
    MANUAL_DIRTY_LOG_PROTECT2(LinuxHeaders.KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2()),
    ARM_PSCI(LinuxHeaders.KVM_CAP_ARM_PSCI()),
    ARM_PSCI_0_2(LinuxHeaders.KVM_CAP_ARM_PSCI_0_2()),
    ARM_PMU_V3(LinuxHeaders.KVM_CAP_ARM_PMU_V3()),
    ARM_VM_IPA_SIZE(LinuxHeaders.KVM_CAP_ARM_VM_IPA_SIZE()),
    ARM_SVE(LinuxHeaders.KVM_CAP_ARM_SVE()),
    ARM_EL1_32BIT(LinuxHeaders.KVM_CAP_ARM_EL1_32BIT());

    private final int number;

    Capability(int number) {
        this.number = number;
    }

    /** {@return the {@code KVM_CAP_*} number} */
    public int number() {
        return number;
    }

    /** {@return the name as in {@code <linux/kvm.h>}, such as {@code KVM_CAP_IRQFD}} */
    public String kernelName() {
        return "KVM_CAP_" + name();
    }
}
