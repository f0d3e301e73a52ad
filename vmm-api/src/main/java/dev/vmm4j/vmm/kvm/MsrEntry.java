// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import java.util.Locale;

/**
 * A model-specific register and its value ({@code struct kvm_msr_entry}).
 *
 * @param index the MSR's number, as {@code rdmsr} takes it in ECX (such as {@code 0xc000_0080} for EFER)
 * @param data its 64-bit value
 */
public record MsrEntry(int index, long data) {
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "MSR[%#x = %#x]", index, data);
    }
}
