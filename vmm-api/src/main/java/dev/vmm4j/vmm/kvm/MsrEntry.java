// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import java.util.Locale;

/** A model-specific register and its value ({@code struct kvm_msr_entry}). */
public record MsrEntry(int index, long data) {
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "MSR[%#x = %#x]", index, data);
    }
}
