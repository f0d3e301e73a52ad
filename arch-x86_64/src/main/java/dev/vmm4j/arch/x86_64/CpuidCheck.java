// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64;

import dev.vmm4j.vmm.kvm.Cpuid;
import dev.vmm4j.vmm.kvm.CpuidEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Whether KVM took the CPUID table a vCPU was given: the feature registers read back with KVM_GET_CPUID2 against those
 * set. Only bits KVM keeps as given count. KVM itself rewrites some on a healthy host (Linux 6.x,
 * kvm_update_cpuid_runtime): leaf 1 ECX.OSXSAVE (27) and EDX.APIC (9), which follow CR4 and the APIC base; leaf 7 ECX.OSPKE
 * (4), which follows CR4; leaf 0xD's save-area sizes, which follow XCR0; and KVM's own paravirtual leaf. Counting those
 * would take every hardware host for one that ignores the table.
 */
final class CpuidCheck {
    /** The feature registers compared: leaf, subleaf, register, and the bits KVM may rewrite in it. */
    private record Checked(int leaf, int subleaf, String register, int runtimeBits) {}

    private static final List<Checked> CHECKED = List.of(
            new Checked(1, 0, "ecx", 1 << 27),
            new Checked(1, 0, "edx", 1 << 9),
            new Checked(7, 0, "ebx", 0),
            new Checked(7, 0, "ecx", 1 << 4),
            new Checked(7, 0, "edx", 0),
            new Checked(0x8000_0001, 0, "ecx", 0),
            new Checked(0x8000_0001, 0, "edx", 0));

    private CpuidCheck() {}

    /**
     * {@return one line per feature register (of leaves 1, 7.0 and 0x80000001) whose value KVM gave back differs from
     * the one set, beyond the bits KVM itself keeps up to date, or that KVM dropped}
     */
    static List<String> differences(Cpuid set, Cpuid read) {
        List<String> differences = new ArrayList<>();
        for (Checked checked : CHECKED) {
            Optional<CpuidEntry> wanted = set.find(checked.leaf(), checked.subleaf());
            if (wanted.isEmpty()) {
                continue;
            }
            Optional<CpuidEntry> got = read.find(checked.leaf(), checked.subleaf());
            if (got.isEmpty()) {
                String gone = String.format(Locale.ROOT, "leaf %#x.%d is gone", checked.leaf(), checked.subleaf());
                if (!differences.contains(gone)) {
                    differences.add(gone);
                }
                continue;
            }
            int mask = ~checked.runtimeBits();
            int want = register(wanted.get(), checked.register()) & mask;
            int have = register(got.get(), checked.register()) & mask;
            if (want != have) {
                differences.add(String.format(
                        Locale.ROOT,
                        "leaf %#x.%d %s reads %#x, set %#x",
                        checked.leaf(),
                        checked.subleaf(),
                        checked.register(),
                        have,
                        want));
            }
        }
        return differences;
    }

    private static int register(CpuidEntry entry, String register) {
        return switch (register) {
            case "ebx" -> entry.ebx();
            case "ecx" -> entry.ecx();
            case "edx" -> entry.edx();
            default -> throw new IllegalArgumentException(register);
        };
    }
}
