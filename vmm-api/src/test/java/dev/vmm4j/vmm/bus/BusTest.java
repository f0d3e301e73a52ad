// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.bus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class BusTest {
    /** Records the offsets it is called with and answers reads with its id. */
    static final class RecordingDevice implements BusDevice {
        final int id;
        final List<Long> reads = new ArrayList<>();
        final List<Long> writes = new ArrayList<>();
        long lastWritten;

        RecordingDevice(int id) {
            this.id = id;
        }

        @Override
        public void read(long offset, MemorySegment data) {
            reads.add(offset);
            data.set(ValueLayout.JAVA_BYTE, 0, (byte) id);
        }

        @Override
        public void write(long offset, MemorySegment data) {
            writes.add(offset);
            lastWritten = data.get(ValueLayout.JAVA_BYTE, 0);
        }

        @Override
        public String toString() {
            return "device " + id;
        }
    }

    private final MemorySegment data = MemorySegment.ofArray(new byte[4]);

    @Test
    void devicesSeeOffsetsWithinTheirRangeOrFullAddresses() {
        Bus bus = new Bus("io");
        RecordingDevice serial = new RecordingDevice(1);
        RecordingDevice cmos = new RecordingDevice(2);
        bus.insert(serial, 0x3f8, 8);
        bus.insertFullAddress(cmos, 0x70, 2);
        assertTrue(bus.write(0x3fd, data));
        assertTrue(bus.read(0x71, data));
        assertEquals(List.of(5L), serial.writes);
        assertEquals(List.of(0x71L), cmos.reads);
        assertEquals(2, data.get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void addressesOutsideEveryRangeReachNoDevice() {
        Bus bus = new Bus("io");
        RecordingDevice serial = new RecordingDevice(1);
        bus.insert(serial, 0x3f8, 8);
        assertFalse(bus.read(0x3f7, data));
        assertFalse(bus.write(0x400, data));
        assertTrue(bus.rangeOf(0x400).isEmpty());
        assertSame(serial, bus.rangeOf(0x3ff).orElseThrow().device());
        assertTrue(serial.reads.isEmpty() && serial.writes.isEmpty());
    }

    @Test
    void insertionRejectsZeroLengthAndOverlap() {
        Bus bus = new Bus("mmio");
        bus.insert(new RecordingDevice(1), 0x1000, 0x1000);
        IllegalArgumentException zero =
                assertThrows(IllegalArgumentException.class, () -> bus.insert(new RecordingDevice(2), 0x3000, 0));
        assertEquals("mmio bus: range at 0x3000 for device 2 must have a positive length, got 0", zero.getMessage());
        IllegalArgumentException overlap =
                assertThrows(IllegalArgumentException.class, () -> bus.insert(new RecordingDevice(3), 0x1fff, 2));
        assertEquals("mmio bus: [0x1fff, 0x2000] device 3 overlaps [0x1000, 0x1fff] device 1", overlap.getMessage());
        assertThrows(IllegalArgumentException.class, () -> bus.insert(new RecordingDevice(4), -0x10, 0x20));
        bus.insert(new RecordingDevice(5), 0x2000, 1); // adjacent is fine
        assertEquals(2, bus.ranges().size());
    }

    @Test
    void rangeAtTheTopOfTheAddressSpace() {
        Bus bus = new Bus("mmio");
        RecordingDevice top = new RecordingDevice(1);
        bus.insert(top, -0x1000L, 0x1000);
        assertTrue(bus.write(-1L, data));
        assertEquals(List.of(0xfffL), top.writes);
    }

    @Test
    void removedRangesStopDispatching() {
        Bus bus = new Bus("io");
        RecordingDevice device = new RecordingDevice(1);
        bus.insert(device, 0x60, 1);
        assertSame(device, bus.remove(0x60).orElseThrow());
        assertFalse(bus.write(0x60, data));
        assertTrue(bus.remove(0x60).isEmpty());
    }

    @Test
    void everyLookupPathFindsTheRightDevice() {
        Bus bus = new Bus("mmio");
        RecordingDevice window = new RecordingDevice(1); // whole page: page hash
        RecordingDevice left = new RecordingDevice(2); // two ranges share a page: search
        RecordingDevice right = new RecordingDevice(3);
        RecordingDevice huge = new RecordingDevice(4); // too many pages to index: search
        bus.insert(window, 0xd000_0000L, 0x1000);
        bus.insert(left, 0xd000_1000L, 0x10);
        bus.insert(right, 0xd000_1010L, 0x10);
        bus.insert(huge, 0x1_0000_0000L, 64L << 20);
        assertSame(window, bus.rangeOf(0xd000_0fffL).orElseThrow().device());
        assertSame(left, bus.rangeOf(0xd000_100fL).orElseThrow().device());
        assertSame(right, bus.rangeOf(0xd000_1010L).orElseThrow().device());
        assertTrue(bus.rangeOf(0xd000_1020L).isEmpty(), "rest of a shared page");
        assertSame(huge, bus.rangeOf(0x1_0000_0000L + (63L << 20)).orElseThrow().device());
        assertTrue(bus.rangeOf(0x1_0400_0000L).isEmpty(), "just past the huge range");
        assertTrue(bus.rangeOf(0xc000_0000L).isEmpty(), "a page no range touches");
        assertTrue(bus.write(0xd000_1018L, data));
        assertEquals(List.of(8L), right.writes);
    }

    /** For random sets of ranges, dispatch finds exactly the device a linear scan finds. */
    @Property(tries = 1000)
    void dispatchAgreesWithALinearScan(
            @ForAll @Size(max = 40) List<@LongRange(min = 0, max = 1 << 20) Long> bases,
            @ForAll @IntRange(min = 1, max = 4096) int length,
            @ForAll @Size(min = 1, max = 50) List<@LongRange(min = 0, max = (1 << 20) + 8192) Long> probes) {
        Bus bus = new Bus("mmio");
        List<long[]> model = new ArrayList<>();
        int id = 0;
        for (long base : bases) {
            boolean overlaps = model.stream().anyMatch(r -> base <= r[1] && r[0] <= base + length - 1);
            RecordingDevice device = new RecordingDevice(id);
            if (overlaps) {
                assertThrows(IllegalArgumentException.class, () -> bus.insert(device, base, length));
            } else {
                bus.insert(device, base, length);
                model.add(new long[] {base, base + length - 1, id});
            }
            id++;
        }
        for (long probe : probes) {
            long expected = model.stream()
                    .filter(r -> r[0] <= probe && probe <= r[1])
                    .mapToLong(r -> r[2])
                    .findFirst()
                    .orElse(-1);
            long actual = bus.rangeOf(probe)
                    .map(r -> (long) ((RecordingDevice) r.device()).id)
                    .orElse(-1L);
            assertEquals(expected, actual, "address " + probe);
            assertEquals(expected >= 0, bus.read(probe, data));
        }
    }
}
