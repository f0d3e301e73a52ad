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

    /** An empty bus; {@code name} ("io", "mmio") appears in errors. */
    public Bus(String name) {
        this.name = Objects.requireNonNull(name, "name");
    }

    /** Maps {@code [base, base + length)} to {@code device}, which then sees offsets from {@code base}. */
    public void insert(BusDevice device, long base, long length) {
        add(new BusRange(base, length, Objects.requireNonNull(device, "device"), false));
    }

    /** Maps {@code [base, base + length)} to {@code device}, which then sees full bus addresses. */
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
     * Removes the range that starts at {@code base}.
     *
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

    /** {@return the range that holds {@code address}} */
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
     * Sends a read at {@code address} to its device.
     *
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
     * Sends a write at {@code address} to its device.
     *
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
