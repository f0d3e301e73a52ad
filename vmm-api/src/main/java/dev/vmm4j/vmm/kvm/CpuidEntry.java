// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import java.util.Locale;

/**
 * One CPUID leaf as KVM describes it ({@code struct kvm_cpuid_entry2}): the registers the guest sees for
 * {@code function} (EAX) and, where {@link #isIndexed()}, {@code index} (ECX).
 */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
    /** {@code KVM_CPUID_FLAG_SIGNIFCANT_INDEX}: the leaf depends on ECX. */
    public static final int FLAG_SIGNIFICANT_INDEX = 1;

    /** {@return whether this leaf depends on the subleaf index in ECX} */
    public boolean isIndexed() {
        return (flags & FLAG_SIGNIFICANT_INDEX) != 0;
    }

    /** {@return whether this entry answers CPUID with EAX = {@code function} and ECX = {@code index}} */
    public boolean matches(int function, int index) {
        return this.function == function && (!isIndexed() || this.index == index);
    }

    /** {@return a copy with the given registers} */
    public CpuidEntry withRegisters(int eax, int ebx, int ecx, int edx) {
        return new CpuidEntry(function, index, flags, eax, ebx, ecx, edx);
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "CPUID[%#x/%#x flags %d: eax=%08x ebx=%08x ecx=%08x edx=%08x]",
                function,
                index,
                flags,
                eax,
                ebx,
                ecx,
                edx);
    }
}
