// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import java.util.Locale;

/**
 * One CPUID leaf as KVM describes it ({@code struct kvm_cpuid_entry2}): the registers the guest sees for
 * {@code function} (EAX) and, where {@link #isIndexed()}, {@code index} (ECX).
 *
 * @param function the leaf: the EAX value CPUID is executed with
 * @param index the subleaf: the ECX value; it matters only where {@link #isIndexed()}
 * @param flags {@code KVM_CPUID_FLAG_*} bits, such as {@link #FLAG_SIGNIFICANT_INDEX}
 * @param eax what the guest reads in EAX
 * @param ebx what the guest reads in EBX
 * @param ecx what the guest reads in ECX
 * @param edx what the guest reads in EDX
 */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
    /** {@code KVM_CPUID_FLAG_SIGNIFCANT_INDEX}: the leaf depends on ECX. */
    public static final int FLAG_SIGNIFICANT_INDEX = 1;

    /** {@return whether this leaf depends on the subleaf index in ECX} */
    public boolean isIndexed() {
        return (flags & FLAG_SIGNIFICANT_INDEX) != 0;
    }

    /**
     * {@return whether this entry answers CPUID with EAX = {@code function} and ECX = {@code index}}
     *
     * @param function the leaf (EAX)
     * @param index the subleaf (ECX); compared only where {@link #isIndexed()}
     */
    public boolean matches(int function, int index) {
        return this.function == function && (!isIndexed() || this.index == index);
    }

    /**
     * {@return a copy with the given registers} The leaf, subleaf and flags stay.
     *
     * @param eax the new EAX value
     * @param ebx the new EBX value
     * @param ecx the new ECX value
     * @param edx the new EDX value
     */
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
