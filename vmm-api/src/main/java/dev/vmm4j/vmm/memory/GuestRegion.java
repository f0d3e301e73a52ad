// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.memory;

import java.lang.foreign.MemorySegment;
import java.util.Locale;
import java.util.Objects;

/**
 * One contiguous piece of guest memory: the guest-physical range {@code [start, start + size)} and the host memory
 * that holds it. Regions never own their memory; the {@link GuestMemory} they belong to does.
 *
 * @param start guest-physical address of the first byte, unsigned; not checked here ({@link GuestMemoryMmap}'s
 *     builder checks alignment, wrap-around and overlap)
 * @param memory the host memory that holds the range, {@code size()} bytes; a view the region does not own
 */
public record GuestRegion(long start, MemorySegment memory) {
    /** Checks that there is memory. */
    public GuestRegion {
        Objects.requireNonNull(memory, "memory");
    }

    /** {@return the size in bytes} */
    public long size() {
        return memory.byteSize();
    }

    /** {@return the last guest-physical address in the region (inclusive, so a region may end at 2^64 - 1)} */
    public long last() {
        return start + memory.byteSize() - 1;
    }

    /**
     * {@return whether {@code gpa} is in this region}
     *
     * @param gpa guest-physical address, compared unsigned
     */
    public boolean contains(long gpa) {
        return Long.compareUnsigned(gpa, start) >= 0 && Long.compareUnsigned(gpa, last()) <= 0;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "GuestRegion[%#x-%#x]", start, last());
    }
}
