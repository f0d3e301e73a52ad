// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.testing;

import java.util.Locale;

/**
 * Hands out guest-physical ranges for a test driver's rings and buffers, one after another from a start address.
 *
 * <p><b>Thread safety:</b> not thread-safe.
 */
public final class GuestAllocator {
    private final long end;
    private long next;

    /**
     * Allocates from {@code [start, start + size)}.
     *
     * @param start guest-physical address of the first byte it may hand out; not checked against guest memory
     * @param size the range's length in bytes
     */
    public GuestAllocator(long start, long size) {
        this.next = start;
        this.end = start + size;
    }

    /**
     * {@return the address of {@code bytes} fresh bytes aligned to {@code alignment} (a power of two)}
     *
     * @param bytes how many, from 0
     * @param alignment in bytes, a power of two
     * @throws IllegalArgumentException if {@code bytes} is negative or {@code alignment} is not a power of two
     * @throws IllegalStateException if the range is used up
     */
    public long allocate(long bytes, long alignment) {
        if (bytes < 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("bad allocation: " + bytes + " bytes aligned to " + alignment);
        }
        long address = (next + alignment - 1) & -alignment;
        if (address + bytes > end || address + bytes < address) {
            throw new IllegalStateException(String.format(
                    Locale.ROOT,
                    "test guest memory is used up: %d bytes asked at %#x, the range ends at %#x",
                    bytes,
                    address,
                    end));
        }
        next = address + bytes;
        return address;
    }

    /**
     * {@return the address of {@code bytes} fresh bytes, 8-byte aligned}
     *
     * @param bytes how many, from 0
     * @throws IllegalArgumentException if {@code bytes} is negative
     * @throws IllegalStateException if the range is used up
     */
    public long allocate(long bytes) {
        return allocate(bytes, 8);
    }

    /** {@return the next address that would be handed out, before alignment} */
    public long position() {
        return next;
    }
}
