// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import java.util.Locale;

/** Where a guest write signals an ioeventfd: a port ({@link Pio}) or a guest-physical MMIO address ({@link Mmio}). */
public sealed interface IoEventAddress {
    /** {@return the port or guest-physical address} */
    long address();

    /**
     * An x86 I/O port ({@code KVM_IOEVENTFD_FLAG_PIO}).
     *
     * @param address the port, 0 to 0xffff
     */
    record Pio(long address) implements IoEventAddress {
        /**
         * Checks the port number.
         *
         * @throws IllegalArgumentException if {@code address} is not in 0 to 0xffff
         */
        public Pio {
            if (address < 0 || address > 0xffff) {
                throw new IllegalArgumentException(
                        String.format(Locale.ROOT, "I/O port %#x is not in 0..0xffff", address));
            }
        }
    }

    /**
     * A guest-physical MMIO address.
     *
     * @param address the guest-physical address of the register; not checked here, KVM refuses what it cannot use
     */
    record Mmio(long address) implements IoEventAddress {}
}
