package dev.vmm4j.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vmm4j.vmm.kvm.Cpuid;
import dev.vmm4j.vmm.kvm.CpuidEntry;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the x86_64 machine finds out about the host's KVM: whether hypercalls complete, whether CPUID is taken. */
class HostKvmTest {
    @Test
    @RequiresKvm
    void theHypercallProbeAnswersOnceAndThenFromMemory() {
        try (Kvm kvm = Kvm.open()) {
            boolean first = HypercallProbe.hypercallsComplete(kvm);
            assertEquals(first, HypercallProbe.hypercallsComplete(kvm), "a property of the host");
        }
    }

    @Test
    void cpuidDifferencesNameTheLeafRegisterAndValues() {
        Cpuid set = new Cpuid(List.of(new CpuidEntry(1, 0, 0, 1, 2, 3, 4), new CpuidEntry(7, 0, 1, 0, 0, 0, 0)));
        Cpuid read = new Cpuid(List.of(new CpuidEntry(1, 0, 0, 1, 2, 0x33, 4), new CpuidEntry(0xd, 0, 1, 0, 0, 0, 0)));
        assertEquals(
                List.of("leaf 0x1.0 ecx reads 0x33, set 0x3", "leaf 0x7.0 is gone", "leaf 0xd.0 was added"),
                CpuidCheck.differences(set, read));
        assertEquals(List.of(), CpuidCheck.differences(set, set));
    }
}
