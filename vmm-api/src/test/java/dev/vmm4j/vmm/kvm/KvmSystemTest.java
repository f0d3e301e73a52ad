// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

@RequiresKvm
class KvmSystemTest {
    private static final int MSR_IA32_TSC = 0x10;
    private static final int MSR_IA32_SYSENTER_CS = 0x174;

    @Test
    void reportsApiVersionMmapSizeAndTheCapabilitiesVmm4jNeeds() {
        try (Kvm kvm = Kvm.open()) {
            assertEquals(Kvm.API_VERSION, kvm.apiVersion());
            assertTrue(kvm.vcpuMmapSize() >= 4096, "kvm_run is at least a page: " + kvm.vcpuMmapSize());
            for (Capability needed : new Capability[] {
                Capability.USER_MEMORY,
                Capability.IRQCHIP,
                Capability.IRQFD,
                Capability.IOEVENTFD,
                Capability.IMMEDIATE_EXIT,
                Capability.SET_TSS_ADDR
            }) {
                assertTrue(kvm.hasCapability(needed), needed.kernelName());
            }
            assertTrue(kvm.maxVcpus() >= 1);
            assertTrue(Kvm.isAvailable());
            assertTrue(Kvm.unavailabilityCause().isEmpty());
        }
    }

    @Test
    void supportedCpuidHasTheBasicLeaves() {
        try (Kvm kvm = Kvm.open()) {
            Cpuid cpuid = kvm.supportedCpuid();
            CpuidEntry vendor = cpuid.find(0, 0).orElseThrow();
            assertTrue(vendor.eax() >= 1, "highest basic leaf: " + vendor);
            assertTrue(cpuid.find(1, 0).isPresent());
        }
    }

    @Test
    void vcpuTakesCpuidAndMsrsAndGivesThemBack() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm()) {
            int[] msrs = kvm.msrIndexList();
            assertTrue(Arrays.stream(msrs).anyMatch(i -> i == MSR_IA32_TSC), "MSR list holds IA32_TSC");
            Vcpu vcpu = vm.createVcpu(0);
            Cpuid supported = kvm.supportedCpuid();
            vcpu.setCpuid(supported);
            // KVM may drop or adjust a few leaves it synthesises itself; the vendor leaf comes back as given.
            assertEquals(supported.find(0, 0), vcpu.getCpuid().find(0, 0));
            vcpu.setMsrs(List.of(new MsrEntry(MSR_IA32_SYSENTER_CS, 0x10)));
            assertEquals(0x10, vcpu.getMsrs(MSR_IA32_SYSENTER_CS)[0]);
        }
    }

    @Test
    void mpStateRoundTripsWithAnIrqchip() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm()) {
            vm.createIrqchip();
            Vcpu vcpu = vm.createVcpu(0);
            assertEquals(LinuxHeaders.KVM_MP_STATE_RUNNABLE(), vcpu.getMpState());
            vcpu.setMpState(LinuxHeaders.KVM_MP_STATE_HALTED());
            assertEquals(LinuxHeaders.KVM_MP_STATE_HALTED(), vcpu.getMpState());
        }
    }
}
