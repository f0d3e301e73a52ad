// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.arch;

import java.util.Locale;

/**
 * A range of guest RAM an architecture lays out: {@code size} bytes from guest-physical {@code start}.
 *
 * @param start guest-physical address of the first byte, 4 KiB-aligned, taken as unsigned
 * @param size length in bytes, positive and a multiple of 4 KiB; the region may end at the top of the 64-bit address
 *     space but not wrap past it
 */
public record RamRegion(long start, long size) {
    /** Checks that the region is page-aligned, not empty, and does not wrap. */
    public RamRegion {
        if (size <= 0
                || (start & 0xfff) != 0
                || (size & 0xfff) != 0
                || Long.compareUnsigned(start + size - 1, start) < 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "a RAM region must be page-aligned, not empty, and inside the address space: %#x+%#x",
                    start,
                    size));
        }
    }
}
