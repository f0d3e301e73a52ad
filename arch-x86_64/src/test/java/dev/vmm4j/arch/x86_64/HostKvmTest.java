// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.arch.x86_64.boot.CpuidFilter;
import dev.vmm4j.vmm.kvm.Cpuid;
import dev.vmm4j.vmm.kvm.CpuidEntry;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** What the x86_64 machine finds out about the host's KVM: whether hypercalls complete, whether CPUID is taken. */
class HostKvmTest {
    /**
     * The probe's answer reaches the guest: a vCPU given the CPUID the machine makes offers PV IPIs exactly when
     * hypercalls complete, as KVM gives the table back (KVM honours its own paravirtual leaf even where it ignores the
     * native ones, which is what keeps Linux off hypercalls there).
     */
    @Test
    @RequiresKvm
    void paravirtualIpisAreOfferedExactlyWhenHypercallsComplete() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm()) {
            boolean hypercalls = HypercallProbe.hypercallsComplete(kvm);
            assertEquals(hypercalls, HypercallProbe.hypercallsComplete(kvm), "a property of the host, probed once");
            vm.createIrqchip();
            Vcpu vcpu = vm.createVcpu(0);
            vcpu.setCpuid(CpuidFilter.forVcpu(kvm.supportedCpuid(), 0, 2, !hypercalls, UnaryOperator.identity()));
            int features = vcpu.getCpuid()
                    .find(CpuidFilter.KVM_CPUID_FEATURES, 0)
                    .orElseThrow()
                    .eax();
            assertEquals(hypercalls, (features & (1 << 11)) != 0, "PV_SEND_IPI in " + Integer.toHexString(features));
        }
    }

    /** A one-vCPU VM, whose guest would use none of the features, neither probes nor offers them. */
    @Test
    void onlyAVmOfSeveralVcpusProbesForHypercalls() {
        int[] probes = {0};
        BooleanSupplier probe = () -> {
            probes[0]++;
            return true;
        };
        assertFalse(X86Machine.offersHypercallFeatures(1, probe));
        assertEquals(0, probes[0], "no probe for one vCPU");
        assertTrue(X86Machine.offersHypercallFeatures(2, probe));
        assertFalse(X86Machine.offersHypercallFeatures(4, () -> false));
        assertEquals(1, probes[0]);
    }

    @Test
    void cpuidDifferencesNameTheLeafRegisterAndValues() {
        Cpuid set = new Cpuid(List.of(new CpuidEntry(1, 0, 0, 1, 2, 3, 4), new CpuidEntry(7, 0, 1, 0, 0, 0, 0)));
        Cpuid read = new Cpuid(List.of(new CpuidEntry(1, 0, 0, 1, 2, 0x33, 4), new CpuidEntry(0xd, 0, 1, 0, 0, 0, 0)));
        assertEquals(
                List.of("leaf 0x1.0 ecx reads 0x33, set 0x3", "leaf 0x7.0 is gone"), CpuidCheck.differences(set, read));
        assertEquals(List.of(), CpuidCheck.differences(set, set));
    }

    /** What a healthy KVM changes itself (save-area sizes, OSXSAVE, APIC, OSPKE, its PV leaf) is not a difference. */
    @Test
    void whatKvmKeepsUpToDateItselfDoesNotCount() {
        int osxsave = 1 << 27;
        int apic = 1 << 9;
        int ospke = 1 << 4;
        Cpuid set = new Cpuid(List.of(
                new CpuidEntry(1, 0, 0, 0x906ea, 0x800, osxsave | 0x100, apic | 1),
                new CpuidEntry(7, 0, 1, 0, 0x29, ospke, 0),
                new CpuidEntry(0xd, 0, 1, 7, 0x340, 0x340, 0),
                new CpuidEntry(0x4000_0001, 0, 0, 0xffff, 0, 0, 0)));
        Cpuid read = new Cpuid(List.of(
                new CpuidEntry(1, 0, 0, 0x906ea, 0x800, 0x100, 1),
                new CpuidEntry(7, 0, 1, 0, 0x29, 0, 0),
                new CpuidEntry(0xd, 0, 1, 7, 0x240, 0x340, 0),
                new CpuidEntry(0x4000_0001, 0, 0, 0xff7f, 0, 0, 0)));
        assertEquals(List.of(), CpuidCheck.differences(set, read));
    }
}
