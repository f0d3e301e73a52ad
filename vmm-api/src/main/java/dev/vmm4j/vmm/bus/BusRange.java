// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.bus;

import java.util.Locale;
import java.util.Objects;

/** The addresses {@code [base, base + length)} a device answers on a {@link Bus}. */
public record BusRange(long base, long length, BusDevice device, boolean fullAddress) {
    /** Checks that there is a device. */
    public BusRange {
        Objects.requireNonNull(device, "device");
    }

    /** {@return the last address of the range (inclusive)} */
    public long last() {
        return base + length - 1;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "[%#x, %#x] %s", base, last(), device);
    }
}
