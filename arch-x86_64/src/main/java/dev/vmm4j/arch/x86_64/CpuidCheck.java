package dev.vmm4j.arch.x86_64;

import dev.vmm4j.vmm.kvm.Cpuid;
import dev.vmm4j.vmm.kvm.CpuidEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Compares the CPUID table a vCPU was given with the one KVM gives back. */
final class CpuidCheck {
    private CpuidCheck() {}

    /**
     * {@return one line per register whose value KVM gave back differs from the one set, and per leaf it dropped or
     * added} Entries are matched by function and index.
     */
    static List<String> differences(Cpuid set, Cpuid read) {
        List<String> differences = new ArrayList<>();
        for (CpuidEntry wanted : set.entries()) {
            CpuidEntry got = find(read, wanted);
            if (got == null) {
                differences.add(String.format(Locale.ROOT, "leaf %#x.%d is gone", wanted.function(), wanted.index()));
                continue;
            }
            compare(differences, wanted, "eax", wanted.eax(), got.eax());
            compare(differences, wanted, "ebx", wanted.ebx(), got.ebx());
            compare(differences, wanted, "ecx", wanted.ecx(), got.ecx());
            compare(differences, wanted, "edx", wanted.edx(), got.edx());
        }
        for (CpuidEntry got : read.entries()) {
            if (find(set, got) == null) {
                differences.add(String.format(Locale.ROOT, "leaf %#x.%d was added", got.function(), got.index()));
            }
        }
        return differences;
    }

    private static CpuidEntry find(Cpuid table, CpuidEntry like) {
        for (CpuidEntry entry : table.entries()) {
            if (entry.function() == like.function() && entry.index() == like.index()) {
                return entry;
            }
        }
        return null;
    }

    private static void compare(List<String> differences, CpuidEntry leaf, String register, int wanted, int got) {
        if (wanted != got) {
            differences.add(String.format(
                    Locale.ROOT,
                    "leaf %#x.%d %s reads %#x, set %#x",
                    leaf.function(),
                    leaf.index(),
                    register,
                    got,
                    wanted));
        }
    }
}
