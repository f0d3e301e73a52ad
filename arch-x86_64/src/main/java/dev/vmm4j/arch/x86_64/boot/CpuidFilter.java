// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.boot;

import dev.vmm4j.vmm.kvm.Cpuid;
import dev.vmm4j.vmm.kvm.CpuidEntry;
import java.util.function.UnaryOperator;

/**
 * Turns KVM's supported CPUID into what one vCPU of a VM sees, as crosvm does: the hypervisor bit set, the vCPU's
 * APIC id in leaf 1 and in the x2APIC topology leaves, the logical processor count of the VM. An embedder's
 * customiser runs last, so it can mask or set any bit (for example CX16 and XSAVE, which this project's emulated KVM
 * cannot run).
 */
public final class CpuidFilter {
    /** Leaf 1 ECX bit 31: running under a hypervisor. */
    public static final int ECX_HYPERVISOR = 1 << 31;
    /** Leaf 1 ECX bit 13: cmpxchg16b. */
    public static final int ECX_CX16 = 1 << 13;
    /** Leaf 1 ECX bit 26: XSAVE/XRSTOR and XCR0. */
    public static final int ECX_XSAVE = 1 << 26;
    /** Leaf 1 ECX bit 27: OSXSAVE, which follows XSAVE. */
    public static final int ECX_OSXSAVE = 1 << 27;
    /** Leaf 1 EDX bit 28: the package has several logical processors. */
    private static final int EDX_HTT = 1 << 28;
    /** KVM's paravirtual feature leaf (KVM_CPUID_FEATURES in {@code <asm/kvm_para.h>}). */
    public static final int KVM_CPUID_FEATURES = 0x4000_0001;
    /**
     * The paravirtual features of KVM_CPUID_FEATURES EAX whose use needs a hypercall: PV_UNHALT (7, kicks a halted
     * vCPU), PV_SEND_IPI (11), PV_SCHED_YIELD (13) and HC_MAP_GPA_RANGE (16), as {@code <asm/kvm_para.h>} numbers them.
     */
    public static final int KVM_HYPERCALL_FEATURES = (1 << 7) | (1 << 11) | (1 << 13) | (1 << 16);

    private CpuidFilter() {}

    /**
     * {@return the CPUID of vCPU {@code vcpuId} in a VM of {@code vcpuCount} vCPUs, after {@code customiser}} KVM's
     * paravirtual features are left as KVM reports them.
     *
     * @param supported what KVM supports ({@link dev.vmm4j.vmm.kvm.Kvm#supportedCpuid()}); not changed
     * @param vcpuId the vCPU's id, which becomes its APIC id: 0 to 255, as leaf 1 holds 8 bits of it
     * @param vcpuCount the VM's vCPUs, the logical processor count of leaf 1 (its low 8 bits)
     * @param customiser applied to every entry last; {@link UnaryOperator#identity()} for none
     */
    public static Cpuid forVcpu(Cpuid supported, int vcpuId, int vcpuCount, UnaryOperator<CpuidEntry> customiser) {
        return forVcpu(supported, vcpuId, vcpuCount, false, customiser);
    }

    /**
     * {@return the CPUID of vCPU {@code vcpuId} in a VM of {@code vcpuCount} vCPUs, without KVM's hypercall-based
     * paravirtual features if {@code withoutHypercalls} (for a KVM that does not complete hypercalls), after
     * {@code customiser}}
     *
     * @param supported what KVM supports ({@link dev.vmm4j.vmm.kvm.Kvm#supportedCpuid()}); not changed
     * @param vcpuId the vCPU's id, which becomes its APIC id: 0 to 255, as leaf 1 holds 8 bits of it
     * @param vcpuCount the VM's vCPUs, the logical processor count of leaf 1 (its low 8 bits)
     * @param withoutHypercalls whether to clear {@link #KVM_HYPERCALL_FEATURES} from leaf {@link #KVM_CPUID_FEATURES}
     * @param customiser applied to every entry last, so it can undo any of the above;
     *     {@link UnaryOperator#identity()} for none
     */
    public static Cpuid forVcpu(
            Cpuid supported,
            int vcpuId,
            int vcpuCount,
            boolean withoutHypercalls,
            UnaryOperator<CpuidEntry> customiser) {
        return supported
                .map(entry -> switch (entry.function()) {
                    case 1 ->
                        entry.withRegisters(
                                entry.eax(),
                                (entry.ebx() & 0x0000_ffff) | (vcpuId << 24) | ((vcpuCount & 0xff) << 16),
                                entry.ecx() | ECX_HYPERVISOR,
                                vcpuCount > 1 ? entry.edx() | EDX_HTT : entry.edx() & ~EDX_HTT);
                    case 0xb, 0x1f -> entry.withRegisters(entry.eax(), entry.ebx(), entry.ecx(), vcpuId); // x2APIC id
                    case KVM_CPUID_FEATURES ->
                        withoutHypercalls
                                ? entry.withRegisters(
                                        entry.eax() & ~KVM_HYPERCALL_FEATURES, entry.ebx(), entry.ecx(), entry.edx())
                                : entry;
                    default -> entry;
                })
                .map(customiser);
    }

    /**
     * {@return a customiser that clears {@code ecxBits} of leaf 1}
     *
     * @param ecxBits the feature bits to clear, such as {@code ECX_XSAVE | ECX_OSXSAVE}, which go together
     */
    public static UnaryOperator<CpuidEntry> maskLeaf1Ecx(int ecxBits) {
        return entry -> entry.function() == 1
                ? entry.withRegisters(entry.eax(), entry.ebx(), entry.ecx() & ~ecxBits, entry.edx())
                : entry;
    }
}
