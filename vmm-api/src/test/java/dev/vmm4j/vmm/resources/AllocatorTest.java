// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.resources;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class AllocatorTest {
    @Test
    void irqsAreHandedOutLowestFirstAndExhaustionNamesEveryOwner() {
        SystemAllocator allocator = SystemAllocator.builder().irqs(5, 7).build();
        assertEquals(5, allocator.allocateIrq("serial"));
        assertEquals(6, allocator.allocateIrq("virtio-blk-0"));
        assertEquals(7, allocator.allocateIrq("virtio-rng-0"));
        AllocationException e = assertThrows(AllocationException.class, () -> allocator.allocateIrq("virtio-net-0"));
        assertEquals(
                "no IRQ left for virtio-net-0: all of 5..7 are taken ({5=serial, 6=virtio-blk-0, 7=virtio-rng-0})",
                e.getMessage());
        assertTrue(allocator.releaseIrq(6));
        assertEquals(6, allocator.allocateIrq("virtio-net-0"));
        assertTrue(!allocator.releaseIrq(100));
    }

    @Test
    void absentPoolsAreNamed() {
        SystemAllocator allocator = SystemAllocator.builder().build();
        assertEquals(
                "no IRQ pool was set up, so none can be given to serial",
                assertThrows(AllocationException.class, () -> allocator.allocateIrq("serial"))
                        .getMessage());
        assertEquals(
                "no MMIO pool was set up on this system allocator",
                assertThrows(AllocationException.class, allocator::mmio).getMessage());
        assertThrows(
                IllegalArgumentException.class, () -> SystemAllocator.builder().ioPorts(0xff00, 0x200));
    }

    @Test
    void ioPortPoolsThatOverflowALongAreRefused() {
        for (long[] pool : new long[][] {{0x100, Long.MAX_VALUE}, {Long.MAX_VALUE, 1}, {0x10000, 1}, {0xffff, 2}}) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> SystemAllocator.builder().ioPorts(pool[0], pool[1]),
                    () -> Long.toHexString(pool[0]) + "+" + Long.toHexString(pool[1]));
            assertTrue(
                    e.getMessage().startsWith(String.format("I/O ports [%#x, +%#x)", pool[0], pool[1])),
                    e.getMessage());
        }
        assertEquals(
                0xffff,
                SystemAllocator.builder().ioPorts(0xffff, 1).build().ioPorts().allocate(1, 1, "last"));
    }

    @Test
    void addressesAreAlignedFirstFitAndReusedAfterRelease() {
        AddressAllocator mmio =
                SystemAllocator.builder().mmio(0xd000_0000L, 0x10000).build().mmio();
        assertEquals(0xd000_0000L, mmio.allocate(0x100, 0x1000, "a"));
        assertEquals(0xd000_1000L, mmio.allocate(0x1000, 0x1000, "b"));
        assertEquals(0xd000_0100L, mmio.allocate(0x10, 0x10, "c"), "first fit fills the hole after a");
        assertEquals("b", mmio.allocationAt(0xd000_1fffL).orElseThrow().tag());
        mmio.release(0xd000_1000L);
        assertEquals(0xd000_1000L, mmio.allocate(0x1000, 0x1000, "d"));
        AllocationException e = assertThrows(AllocationException.class, () -> mmio.allocate(0x10000, 0x1000, "e"));
        assertTrue(
                e.getMessage()
                        .startsWith(
                                "MMIO: no room for 0x10000 bytes aligned to 0x1000 for e in [0xd0000000, 0xd000ffff]"),
                e.getMessage());
    }

    @Test
    void fixedRangesMustBeFreeAndInside() {
        AddressAllocator ports =
                SystemAllocator.builder().ioPorts(0, 0x10000).build().ioPorts();
        ports.allocateAt(0x3f8, 8, "COM1");
        assertEquals(
                "I/O ports: [0x3fc, 0x403] for COM2 overlaps COM1 [0x3f8, 0x3ff]",
                assertThrows(AllocationException.class, () -> ports.allocateAt(0x3fc, 8, "COM2"))
                        .getMessage());
        assertThrows(AllocationException.class, () -> ports.allocateAt(0xfffc, 8, "past the end"));
        assertEquals(0, ports.allocate(8, 8, "first"));
        assertEquals(0x400, ports.allocate(0x3f8, 8, "big"), "the hole below COM1 is too small from 0x8 on");
    }

    @Test
    void poolAtTheTopOfTheAddressSpace() {
        AddressAllocator top = new AddressAllocator("top", -0x2000L, 0x2000);
        assertEquals(-0x2000L, top.allocate(0x1000, 0x1000, "a"));
        assertEquals(-0x1000L, top.allocate(0x1000, 0x1000, "b"));
        assertThrows(AllocationException.class, () -> top.allocate(1, 1, "c"));
        top.release(-0x1000L);
        assertEquals(-0x1000L, top.allocate(0x800, 1, "d"));
        assertThrows(IllegalArgumentException.class, () -> new AddressAllocator("wraps", -0x1000L, 0x2000));
    }

    /** Random allocations and releases: every range is aligned, inside the pool, and disjoint from the others. */
    @Property(tries = 500)
    void allocationsStayAlignedInsideAndDisjoint(
            @ForAll @Size(max = 60) List<@IntRange(min = 0, max = 12) Integer> ops) {
        AddressAllocator pool = new AddressAllocator("pool", 0x10000, 0x40000);
        List<AddressAllocator.Allocation> live = new ArrayList<>();
        for (int op : ops) {
            if (op == 0 && !live.isEmpty()) {
                pool.release(live.remove(live.size() - 1).address());
                continue;
            }
            long size = 1L << (op + 2);
            long alignment = 1L << Math.min(op + 1, 12);
            try {
                long address = pool.allocate(size, alignment, "r" + live.size());
                live.add(new AddressAllocator.Allocation(address, size, "x"));
                assertEquals(0, address % alignment);
                assertTrue(address >= 0x10000 && address + size <= 0x50000);
            } catch (AllocationException e) {
                assertTrue(!anyGapFits(live, size, alignment), "refused although a gap fits: " + e.getMessage());
            }
        }
        for (int i = 0; i < live.size(); i++) {
            for (int j = i + 1; j < live.size(); j++) {
                AddressAllocator.Allocation a = live.get(i);
                AddressAllocator.Allocation b = live.get(j);
                assertTrue(a.last() < b.address() || b.last() < a.address(), a + " overlaps " + b);
            }
        }
    }

    private static boolean anyGapFits(List<AddressAllocator.Allocation> live, long size, long alignment) {
        List<AddressAllocator.Allocation> sorted = new ArrayList<>(live);
        sorted.sort(java.util.Comparator.comparingLong(AddressAllocator.Allocation::address));
        long cursor = 0x10000;
        for (AddressAllocator.Allocation a : sorted) {
            long aligned = (cursor + alignment - 1) & -alignment;
            if (aligned + size <= a.address()) {
                return true;
            }
            cursor = a.last() + 1;
        }
        long aligned = (cursor + alignment - 1) & -alignment;
        return aligned + size <= 0x50000;
    }

    /** Two allocators from one builder would hand out the same address pools: a builder builds once. */
    @Test
    void aBuilderBuildsOnce() {
        SystemAllocator.Builder builder = SystemAllocator.builder().ioPorts(0x1000, 0x100);
        builder.build();
        assertThrows(IllegalStateException.class, builder::build);
        assertThrows(IllegalStateException.class, () -> builder.mmio(0xd000_0000L, 0x1000));
        assertThrows(IllegalStateException.class, () -> builder.irqs(5, 7));
    }
}
