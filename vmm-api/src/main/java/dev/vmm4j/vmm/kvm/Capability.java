// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import dev.vmm4j.kvm.bindings.LinuxHeaders;

/**
 * KVM capabilities ({@code KVM_CAP_*}), for {@link Kvm#checkExtension(Capability)}, {@link Kvm#requireCapability}
 * and {@link Vm#enableCap}. The numbers come from the generated bindings; {@link #number()} gives them.
 */
public enum Capability {
    /** Memory slots backed by userspace memory ({@link Vm#setUserMemoryRegion}); every KVM vmm4j can use has it. */
    USER_MEMORY(LinuxHeaders.KVM_CAP_USER_MEMORY()),
    /** {@link Vm#setTssAddress} ({@code KVM_SET_TSS_ADDR}); x86. */
    SET_TSS_ADDR(LinuxHeaders.KVM_CAP_SET_TSS_ADDR()),
    /** {@link Vm#setIdentityMapAddress} ({@code KVM_SET_IDENTITY_MAP_ADDR}); x86. */
    SET_IDENTITY_MAP_ADDR(LinuxHeaders.KVM_CAP_SET_IDENTITY_MAP_ADDR()),
    /**
     * {@link Kvm#supportedCpuid()} and {@link Vcpu#setCpuid} ({@code KVM_GET_SUPPORTED_CPUID}, {@code KVM_SET_CPUID2});
     * x86.
     */
    EXT_CPUID(LinuxHeaders.KVM_CAP_EXT_CPUID()),
    /** {@link Kvm#emulatedCpuid()} ({@code KVM_GET_EMULATED_CPUID}); x86. */
    EXT_EMUL_CPUID(LinuxHeaders.KVM_CAP_EXT_EMUL_CPUID()),
    /** {@link Vcpu#getMpState()} and {@link Vcpu#setMpState} ({@code KVM_GET_MP_STATE}, {@code KVM_SET_MP_STATE}). */
    MP_STATE(LinuxHeaders.KVM_CAP_MP_STATE()),
    /** An in-kernel interrupt controller ({@link Vm#createIrqchip()} on x86) and {@link Vm#setIrqLine}. */
    IRQCHIP(LinuxHeaders.KVM_CAP_IRQCHIP()),
    /**
     * The guest's {@code hlt} is handled, exiting with {@link VcpuExit.Hlt} when there is no in-kernel irqchip; x86.
     */
    HLT(LinuxHeaders.KVM_CAP_HLT()),
    /** KVM follows changes to the host mapping of guest memory (MMU notifiers), so it may be remapped or discarded. */
    SYNC_MMU(LinuxHeaders.KVM_CAP_SYNC_MMU()),
    /**
     * MMIO writes to registered zones are queued in a ring instead of exiting; the answer is the ring's page offset in
     * the vCPU mapping. vmm4j does not register zones.
     */
    COALESCED_MMIO(LinuxHeaders.KVM_CAP_COALESCED_MMIO()),
    /** {@link Vm#createPit2} ({@code KVM_CREATE_PIT2}); x86. */
    PIT2(LinuxHeaders.KVM_CAP_PIT2()),
    /** {@link Vm#getPit2} and {@link Vm#setPit2} ({@code KVM_GET_PIT2}, {@code KVM_SET_PIT2}); x86. */
    PIT_STATE2(LinuxHeaders.KVM_CAP_PIT_STATE2()),
    /** {@link Vm#setGsiRouting}; the answer is the most routes a table may hold. */
    IRQ_ROUTING(LinuxHeaders.KVM_CAP_IRQ_ROUTING()),
    /**
     * {@code KVM_IRQ_LINE_STATUS}, which says whether an interrupt was delivered ({@link Vm#setIrqLine} uses plain
     * {@code KVM_IRQ_LINE}).
     */
    IRQ_INJECT_STATUS(LinuxHeaders.KVM_CAP_IRQ_INJECT_STATUS()),
    /** {@link Vm#registerIrqfd} ({@code KVM_IRQFD}). */
    IRQFD(LinuxHeaders.KVM_CAP_IRQFD()),
    /** {@link Vm#registerIrqfdWithResample}: level-triggered irqfds with a resample eventfd. */
    IRQFD_RESAMPLE(LinuxHeaders.KVM_CAP_IRQFD_RESAMPLE()),
    /** {@link Vm#registerIoevent} ({@code KVM_IOEVENTFD}). */
    IOEVENTFD(LinuxHeaders.KVM_CAP_IOEVENTFD()),
    /** Zero-length ioeventfds on MMIO addresses, which KVM matches on its fast MMIO path; x86. */
    IOEVENTFD_NO_LENGTH(LinuxHeaders.KVM_CAP_IOEVENTFD_NO_LENGTH()),
    /** Zero-length ioeventfds, matching a write of any length: what {@link Datamatch#any()} registers. */
    IOEVENTFD_ANY_LENGTH(LinuxHeaders.KVM_CAP_IOEVENTFD_ANY_LENGTH()),
    /** {@link Vm#signalMsi} ({@code KVM_SIGNAL_MSI}). */
    SIGNAL_MSI(LinuxHeaders.KVM_CAP_SIGNAL_MSI()),
    /** MSIs carry a device id (aarch64's GICv3 ITS needs it): see {@link IrqRoute.Msi#validDevid()}. */
    MSI_DEVID(LinuxHeaders.KVM_CAP_MSI_DEVID()),
    /** Read-only memory slots ({@link MemorySlotFlag#READONLY}). */
    READONLY_MEM(LinuxHeaders.KVM_CAP_READONLY_MEM()),
    /**
     * {@code kvm_run.immediate_exit}, which {@link Vcpu#kick()} sets so that the next {@code KVM_RUN} returns at once.
     */
    IMMEDIATE_EXIT(LinuxHeaders.KVM_CAP_IMMEDIATE_EXIT()),
    /**
     * {@link Vcpu#getOneReg(long)} and {@link Vcpu#setOneReg(long, long)} ({@code KVM_GET_ONE_REG}, {@code
     * KVM_SET_ONE_REG}).
     */
    ONE_REG(LinuxHeaders.KVM_CAP_ONE_REG()),
    /** {@link Vm#createDevice} and the {@link KvmDevice} attributes ({@code KVM_CREATE_DEVICE}). */
    DEVICE_CTRL(LinuxHeaders.KVM_CAP_DEVICE_CTRL()),
    /** {@link Vcpu#enableCap} ({@code KVM_ENABLE_CAP} on a vCPU). */
    ENABLE_CAP(LinuxHeaders.KVM_CAP_ENABLE_CAP()),
    /** {@link Vm#enableCap} ({@code KVM_ENABLE_CAP} on a VM). */
    ENABLE_CAP_VM(LinuxHeaders.KVM_CAP_ENABLE_CAP_VM()),
    /** The answer is the recommended most vCPUs per VM; {@link Kvm#maxVcpus()} falls back on it. */
    NR_VCPUS(LinuxHeaders.KVM_CAP_NR_VCPUS()),
    /** The answer is the most vCPUs a VM may have ({@link Kvm#maxVcpus()}). */
    MAX_VCPUS(LinuxHeaders.KVM_CAP_MAX_VCPUS()),
    /** The answer bounds vCPU ids: {@link Vm#createVcpu} takes ids below it. */
    MAX_VCPU_ID(LinuxHeaders.KVM_CAP_MAX_VCPU_ID()),
    /** The answer is how many memory slots a VM may have: slot numbers below it. */
    NR_MEMSLOTS(LinuxHeaders.KVM_CAP_NR_MEMSLOTS()),
    /** The answer is how many guest address spaces there are (x86: 2, the second for SMM). */
    MULTI_ADDRESS_SPACE(LinuxHeaders.KVM_CAP_MULTI_ADDRESS_SPACE()),
    /** {@link Vcpu#kvmclockCtrl()} ({@code KVM_KVMCLOCK_CTRL}); x86. */
    KVMCLOCK_CTRL(LinuxHeaders.KVM_CAP_KVMCLOCK_CTRL()),
    /** {@link Vm#getClock()} and {@link Vm#setClock} ({@code KVM_GET_CLOCK}, {@code KVM_SET_CLOCK}). */
    ADJUST_CLOCK(LinuxHeaders.KVM_CAP_ADJUST_CLOCK()),
    /** {@link Vcpu#setTscKhz} (TSC scaling); x86. */
    TSC_CONTROL(LinuxHeaders.KVM_CAP_TSC_CONTROL()),
    /** {@link Vcpu#getTscKhz()}; x86. */
    GET_TSC_KHZ(LinuxHeaders.KVM_CAP_GET_TSC_KHZ()),
    /** {@link Vcpu#getXsave} and {@link Vcpu#setXsave}; x86. */
    XSAVE(LinuxHeaders.KVM_CAP_XSAVE()),
    /** {@link Vcpu#getXcrs} and {@link Vcpu#setXcrs}; x86. */
    XCRS(LinuxHeaders.KVM_CAP_XCRS()),
    /** {@link Vcpu#getDebugRegs} and {@link Vcpu#setDebugRegs}; x86. */
    DEBUGREGS(LinuxHeaders.KVM_CAP_DEBUGREGS()),
    /** {@link Vcpu#getVcpuEvents} and {@link Vcpu#setVcpuEvents}. */
    VCPU_EVENTS(LinuxHeaders.KVM_CAP_VCPU_EVENTS()),
    /** {@link Vcpu#setGuestDebug}, whose breakpoints and steps exit with {@link VcpuExit.Debug}. */
    SET_GUEST_DEBUG(LinuxHeaders.KVM_CAP_SET_GUEST_DEBUG()),
    /** {@link Kvm#msrFeatureIndexList()} ({@code KVM_GET_MSR_FEATURE_INDEX_LIST}); x86. */
    GET_MSR_FEATURES(LinuxHeaders.KVM_CAP_GET_MSR_FEATURES()),
    /**
     * Local APICs in the kernel but the PIC and IOAPIC in userspace, enabled with {@link Vm#enableCap} (argument: the
     * number of IOAPIC routes) instead of {@link Vm#createIrqchip()}; x86.
     */
    SPLIT_IRQCHIP(LinuxHeaders.KVM_CAP_SPLIT_IRQCHIP()),
    /** 32-bit x2APIC ids and the broadcast quirk switch, enabled with {@link Vm#enableCap}; x86. */
    X2APIC_API(LinuxHeaders.KVM_CAP_X2APIC_API()),
    /**
     * Lets the guest run {@code hlt}, {@code mwait}, {@code pause} or C-states without exiting, enabled with {@link
     * Vm#enableCap}; the answer is the exits that can be disabled.
     */
    X86_DISABLE_EXITS(LinuxHeaders.KVM_CAP_X86_DISABLE_EXITS()),
    /**
     * Guest accesses to MSRs KVM does not handle exit to userspace instead of raising {@code #GP}, enabled with {@link
     * Vm#enableCap}; those exits arrive as {@link VcpuExit.Unknown}.
     */
    X86_USER_SPACE_MSR(LinuxHeaders.KVM_CAP_X86_USER_SPACE_MSR()),
    /**
     * Exception payloads (such as a page fault's CR2) kept apart in the vCPU events until delivered, enabled with
     * {@link Vm#enableCap}; x86.
     */
    EXCEPTION_PAYLOAD(LinuxHeaders.KVM_CAP_EXCEPTION_PAYLOAD()),
    /** {@link VcpuExit.SystemEvent} carries {@link VcpuExit.SystemEvent#ndata()} data words, not only flags. */
    SYSTEM_EVENT_DATA(LinuxHeaders.KVM_CAP_SYSTEM_EVENT_DATA()),
    /**
     * Once enabled with {@link Vm#enableCap}, {@code KVM_GET_DIRTY_LOG} no longer clears the log: {@link
     * Vm#getDirtyLog} then keeps reporting pages, as vmm4j does not issue {@code KVM_CLEAR_DIRTY_LOG}.
     */
    MANUAL_DIRTY_LOG_PROTECT2(LinuxHeaders.KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2()),
    /** PSCI 0.1 firmware calls, handled in the kernel; aarch64. */
    ARM_PSCI(LinuxHeaders.KVM_CAP_ARM_PSCI()),
    /** PSCI 0.2, asked for with the {@code KVM_ARM_VCPU_PSCI_0_2} feature of {@link Vcpu#armInit}; aarch64. */
    ARM_PSCI_0_2(LinuxHeaders.KVM_CAP_ARM_PSCI_0_2()),
    /** A PMUv3 for the guest ({@code KVM_ARM_VCPU_PMU_V3} feature of {@link Vcpu#armInit}); aarch64. */
    ARM_PMU_V3(LinuxHeaders.KVM_CAP_ARM_PMU_V3()),
    /**
     * The answer is the widest guest-physical address, in bits, that {@link Kvm#createVm(long)}'s type may ask for (0:
     * only the default 40 bits); aarch64.
     */
    ARM_VM_IPA_SIZE(LinuxHeaders.KVM_CAP_ARM_VM_IPA_SIZE()),
    /** SVE for the guest ({@code KVM_ARM_VCPU_SVE} feature of {@link Vcpu#armInit}); aarch64. */
    ARM_SVE(LinuxHeaders.KVM_CAP_ARM_SVE()),
    /** A guest kernel in AArch32 ({@code KVM_ARM_VCPU_EL1_32BIT} feature of {@link Vcpu#armInit}); aarch64. */
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
