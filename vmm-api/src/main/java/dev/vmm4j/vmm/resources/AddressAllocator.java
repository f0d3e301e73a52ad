// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.resources;

import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * Hands out aligned, non-overlapping ranges of one address pool (port I/O, MMIO, device memory), first fit from the
 * bottom, and takes them back. Every range carries a tag, the name of its owner, that errors mention.
 *
 * <p>Addresses are unsigned: a pool may reach the top of the 64-bit space.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class AddressAllocator {
    /**
     * A range handed out.
     *
     * @param address its first address, unsigned
     * @param size its length in bytes (in ports for port I/O), more than 0 when handed out
     * @param tag the name of its owner, such as {@code "virtio-blk-0"}
     */
    public record Allocation(long address, long size, String tag) {
        /** Checks that there is a tag. */
        public Allocation {
            Objects.requireNonNull(tag, "tag");
        }

        /** {@return the last address of the range (inclusive)} */
        public long last() {
            return address + size - 1;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%s [%#x, %#x]", tag, address, last());
        }
    }

    private final String name;
    private final long base;
    private final long last;
    private final TreeMap<Long, Allocation> allocations = new TreeMap<>(Long::compareUnsigned);

    /**
     * A pool named {@code name} ("MMIO") of {@code size} bytes at {@code base}.
     *
     * @param name names the pool in errors
     * @param base the pool's first address, unsigned
     * @param size the pool's length in bytes (in ports for port I/O), unsigned and not 0
     * @throws IllegalArgumentException if {@code size} is 0 or the pool would pass the top of the 64-bit space
     */
    public AddressAllocator(String name, long base, long size) {
        this.name = Objects.requireNonNull(name, "name");
        if (size == 0 || Long.compareUnsigned(base + size - 1, base) < 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "%s pool at %#x of %#x bytes must be non-empty and must not wrap past 2^64",
                    name,
                    base,
                    size));
        }
        this.base = base;
        this.last = base + size - 1;
    }

    /** {@return the first address of the pool} */
    public long base() {
        return base;
    }

    /** {@return the last address of the pool (inclusive)} */
    public long last() {
        return last;
    }

    /**
     * Takes {@code size} bytes aligned to {@code alignment} (a power of two) for {@code tag}, from the lowest place they fit.
     *
     * @param size the length in bytes (in ports for port I/O), more than 0
     * @param alignment what the address must be a multiple of: a power of two, such as the page size
     * @param tag the owner's name, kept with the range and named in errors
     * @return the address, a multiple of {@code alignment}
     * @throws IllegalArgumentException if {@code size} is not positive or {@code alignment} is not a power of two
     * @throws AllocationException if no free range is big enough; the message lists the ranges taken
     */
    public synchronized long allocate(long size, long alignment, String tag) {
        Objects.requireNonNull(tag, "tag");
        requireSize(size, tag);
        if (alignment <= 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment for " + tag + " must be a power of two, got " + alignment);
        }
        long cursor = base;
        for (Allocation taken : allocations.values()) {
            if (Long.compareUnsigned(taken.address(), cursor) > 0) { // a free gap [cursor, taken.address())
                OptionalLong placed = place(cursor, taken.address() - 1, size, alignment);
                if (placed.isPresent()) {
                    return record(placed.getAsLong(), size, tag);
                }
            }
            if (taken.last() == last) {
                throw exhausted(size, alignment, tag);
            }
            cursor = taken.last() + 1;
        }
        OptionalLong placed = place(cursor, last, size, alignment);
        if (placed.isPresent()) {
            return record(placed.getAsLong(), size, tag);
        }
        throw exhausted(size, alignment, tag);
    }

    private AllocationException exhausted(long size, long alignment, String tag) {
        return new AllocationException(String.format(
                Locale.ROOT,
                "%s: no room for %#x bytes aligned to %#x for %s in [%#x, %#x] (%d ranges taken: %s)",
                name,
                size,
                alignment,
                tag,
                base,
                last,
                allocations.size(),
                allocations.values()));
    }

    /** {@return the lowest address aligned to {@code alignment} at or above {@code from} where {@code size} bytes end at or before {@code limit}} */
    private static OptionalLong place(long from, long limit, long size, long alignment) {
        long aligned = (from + alignment - 1) & -alignment;
        if (Long.compareUnsigned(aligned, from) < 0) {
            return OptionalLong.empty(); // aligning up passed 2^64 - 1
        }
        long end = aligned + size - 1;
        if (Long.compareUnsigned(end, aligned) < 0 || Long.compareUnsigned(end, limit) > 0) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(aligned);
    }

    /**
     * Takes exactly {@code [address, address + size)} for {@code tag}, for a device whose address is fixed (a legacy
     * port, a platform device).
     *
     * @param address the first address, unsigned; need not be aligned
     * @param size the length in bytes (in ports for port I/O), more than 0
     * @param tag the owner's name, kept with the range and named in errors
     * @throws IllegalArgumentException if {@code size} is not positive
     * @throws AllocationException if any of it is taken or outside the pool
     */
    public synchronized void allocateAt(long address, long size, String tag) {
        Objects.requireNonNull(tag, "tag");
        requireSize(size, tag);
        long end = address + size - 1;
        if (Long.compareUnsigned(address, base) < 0
                || Long.compareUnsigned(end, address) < 0
                || Long.compareUnsigned(end, last) > 0) {
            throw new AllocationException(String.format(
                    Locale.ROOT,
                    "%s: [%#x, %#x] for %s is outside the pool [%#x, %#x]",
                    name,
                    address,
                    end,
                    tag,
                    base,
                    last));
        }
        Map.Entry<Long, Allocation> below = allocations.floorEntry(end);
        if (below != null && Long.compareUnsigned(below.getValue().last(), address) >= 0) {
            throw new AllocationException(String.format(
                    Locale.ROOT, "%s: [%#x, %#x] for %s overlaps %s", name, address, end, tag, below.getValue()));
        }
        record(address, size, tag);
    }

    /**
     * Gives back the range that starts at {@code address}.
     *
     * @param address the range's first address, as {@link #allocate} returned it; an address inside a range releases
     *     nothing
     * @return it, or empty if nothing was allocated there
     */
    public synchronized Optional<Allocation> release(long address) {
        return Optional.ofNullable(allocations.remove(address));
    }

    /**
     * {@return the range holding {@code address}, if one does}
     *
     * @param address any address, unsigned; need not be in the pool
     */
    public synchronized Optional<Allocation> allocationAt(long address) {
        Map.Entry<Long, Allocation> below = allocations.floorEntry(address);
        return below != null && Long.compareUnsigned(address, below.getValue().last()) <= 0
                ? Optional.of(below.getValue())
                : Optional.empty();
    }

    private long record(long address, long size, String tag) {
        allocations.put(address, new Allocation(address, size, tag));
        return address;
    }

    private static void requireSize(long size, String tag) {
        if (size <= 0) {
            throw new IllegalArgumentException("size for " + tag + " must be positive, got " + size);
        }
    }

    @Override
    public synchronized String toString() {
        return String.format(Locale.ROOT, "%s [%#x, %#x] %s", name, base, last, allocations.values());
    }
}
