// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.bus;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Address ranges mapped to {@link BusDevice}s: the x86 port-I/O bus or an MMIO bus, dispatching the I/O and MMIO
 * exits of every vCPU.
 *
 * <h2>Dispatch</h2>
 * {@link #read} and {@link #write} find the device in an immutable {@link BusSnapshot} of the ranges, read with one
 * volatile load: no lock, no allocation, and in the common cases no search (see {@link BusSnapshot}). Devices synchronise themselves (see {@link BusDevice}). Ranges are
 * added and removed rarely (device setup, hot-plug), by copying the snapshot under a lock that dispatch never takes.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class Bus {
    private final String name;
    private final Object writeLock = new Object();
    private volatile BusSnapshot snapshot = BusSnapshot.EMPTY;

    /**
     * An empty bus; {@code name} ("io", "mmio") appears in errors.
     *
     * @param name what the bus is, for messages and {@link #toString()}
     */
    public Bus(String name) {
        this.name = Objects.requireNonNull(name, "name");
    }

    /**
     * Maps {@code [base, base + length)} to {@code device}, which then sees offsets from {@code base}.
     *
     * @param device answers the range; it may be mapped at other ranges too
     * @param base the range's first bus address (port or guest-physical address), unsigned
     * @param length in bytes, positive
     * @throws IllegalArgumentException if {@code length} is not positive, the range runs past 2^64 - 1, or it
     *     overlaps a range already mapped
     */
    public void insert(BusDevice device, long base, long length) {
        add(new BusRange(base, length, Objects.requireNonNull(device, "device"), false));
    }

    /**
     * Maps {@code [base, base + length)} to {@code device}, which then sees full bus addresses.
     *
     * @param device answers the range; it may be mapped at other ranges too
     * @param base the range's first bus address (port or guest-physical address), unsigned
     * @param length in bytes, positive
     * @throws IllegalArgumentException if {@code length} is not positive, the range runs past 2^64 - 1, or it
     *     overlaps a range already mapped
     */
    public void insertFullAddress(BusDevice device, long base, long length) {
        add(new BusRange(base, length, Objects.requireNonNull(device, "device"), true));
    }

    private void add(BusRange range) {
        if (range.length() <= 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "%s bus: range at %#x for %s must have a positive length, got %d",
                    name,
                    range.base(),
                    range.device(),
                    range.length()));
        }
        if (Long.compareUnsigned(range.last(), range.base()) < 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "%s bus: range at %#x of %#x bytes runs past the end of the address space",
                    name,
                    range.base(),
                    range.length()));
        }
        synchronized (writeLock) {
            for (BusRange other : snapshot.ranges) {
                if (Long.compareUnsigned(range.base(), other.last()) <= 0
                        && Long.compareUnsigned(other.base(), range.last()) <= 0) {
                    throw new IllegalArgumentException(
                            String.format(Locale.ROOT, "%s bus: %s overlaps %s", name, range, other));
                }
            }
            List<BusRange> ranges = new ArrayList<>(snapshot.ranges);
            ranges.add(range);
            snapshot = BusSnapshot.of(ranges);
        }
    }

    /**
     * Removes the range that starts at {@code base}. A vCPU that looked the address up just before may still call
     * the device after this returns.
     *
     * @param base the first address of the range, as it was inserted; an address inside a range removes nothing
     * @return the device it mapped, or empty if none did
     */
    public Optional<BusDevice> remove(long base) {
        synchronized (writeLock) {
            List<BusRange> ranges = new ArrayList<>(snapshot.ranges);
            for (int i = 0; i < ranges.size(); i++) {
                if (ranges.get(i).base() == base) {
                    BusDevice device = ranges.remove(i).device();
                    snapshot = BusSnapshot.of(ranges);
                    return Optional.of(device);
                }
            }
            return Optional.empty();
        }
    }

    /**
     * {@return the range that holds {@code address}, or empty if none does}
     *
     * @param address a bus address, unsigned
     */
    public Optional<BusRange> rangeOf(long address) {
        BusSnapshot s = snapshot;
        BusSnapshot.Target target = s.target(address);
        return target == null ? Optional.empty() : Optional.of(s.ranges.get(target.index));
    }

    /** {@return every range, sorted by base} */
    public List<BusRange> ranges() {
        return snapshot.ranges;
    }

    /**
     * Sends a read at {@code address} to its device, on the calling vCPU thread.
     *
     * @param address the bus address of the access's first byte, unsigned; only it is looked up, so the access may
     *     run past the end of the range
     * @param data the device fills it: the access's bytes from the vCPU's exit (1 to 8; the vCPU loop sends a port
     *     I/O string instruction one item at a time); left as it is if no device holds the address
     * @return false if no device holds the address
     */
    public boolean read(long address, MemorySegment data) {
        BusSnapshot.Target target = snapshot.target(address);
        if (target == null) {
            return false;
        }
        target.device.read(address - target.bias, data);
        return true;
    }

    /**
     * Sends a write at {@code address} to its device, on the calling vCPU thread.
     *
     * @param address the bus address of the access's first byte, unsigned; only it is looked up, so the access may
     *     run past the end of the range
     * @param data the bytes the guest wrote, from the vCPU's exit (1 to 8; the vCPU loop sends a port I/O string
     *     instruction one item at a time); valid only during the call
     * @return false if no device holds the address
     */
    public boolean write(long address, MemorySegment data) {
        BusSnapshot.Target target = snapshot.target(address);
        if (target == null) {
            return false;
        }
        target.device.write(address - target.bias, data);
        return true;
    }

    @Override
    public String toString() {
        return name + " bus " + snapshot.ranges;
    }
}
