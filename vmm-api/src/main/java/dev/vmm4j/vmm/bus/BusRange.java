// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.bus;

import java.util.Locale;
import java.util.Objects;

/**
 * The addresses {@code [base, base + length)} a device answers on a {@link Bus}.
 *
 * @param base the first bus address, unsigned
 * @param length in bytes; {@link Bus} accepts only positive lengths that do not run past 2^64 - 1, but the record
 *     itself does not check
 * @param device the device that answers the range
 * @param fullAddress whether the device sees full bus addresses ({@link Bus#insertFullAddress}) rather than offsets
 *     from {@code base} ({@link Bus#insert})
 */
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
