// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.queue;

import static dev.vmm4j.virtio.queue.VirtqLayout.DESC_SIZE;
import static dev.vmm4j.virtio.queue.VirtqLayout.VIRTQ_DESC_F_INDIRECT;
import static dev.vmm4j.virtio.queue.VirtqLayout.VIRTQ_DESC_F_NEXT;
import static dev.vmm4j.virtio.queue.VirtqLayout.VIRTQ_DESC_F_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmm4j.virtio.DeviceStatus;
import dev.vmm4j.virtio.VirtioFeatures;
import dev.vmm4j.virtio.rng.RngDevice;
import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Random, mostly hostile descriptor tables and avail rings fed to a real device (rng, which writes every writable
 * buffer it is given) through the transport: loops, next indices and heads out of range, buffers outside guest memory
 * or wrapping past 2^64, huge lengths, indirect tables (nested, mis-sized, outside memory, longer than the queue),
 * readable-after-writable, and avail indices that jump. Each run must end, nothing may escape the device, every chain
 * made available must come back (or the queue must be declared broken), and no byte of guest memory may change
 * outside the used ring and the buffers the descriptors mark device-writable.
 *
 * <p>Guest memory (64 KiB) is split so that what the device writes can never change how it reads the queue: rings at
 * 4 KiB, indirect tables at 16 KiB, a never-written zero gap at 24 KiB, writable data from 32 KiB. Readable buffers
 * and wild addresses go anywhere.
 */
class HostileQueuePropertyTest {
    private static final long MEMORY = 64 * 1024;
    private static final long TABLES = 0x4000;
    private static final long GAP = 0x6000;
    private static final long DATA = 0x8000;

    /** What the generator wrote: the indirect tables and every device-writable range it declared. */
    private record Layout(List<long[]> tables, BitSet writable) {}

    @Property(tries = 10_000)
    void hostileQueuesNeverEscapeTheDevice(
            @ForAll long seed,
            @ForAll @IntRange(min = 0, max = 5) int sizeLog2,
            @ForAll boolean eventIdx,
            @ForAll boolean indirect)
            throws Exception {
        SplittableRandom random = new SplittableRandom(seed);
        int size = 1 << sizeLog2;
        long features = (1L << VirtioFeatures.VIRTIO_F_VERSION_1)
                | (eventIdx ? 1L << VirtioFeatures.VIRTIO_RING_F_EVENT_IDX : 0)
                | (indirect ? 1L << VirtioFeatures.VIRTIO_RING_F_INDIRECT_DESC : 0);
        try (DeviceHarness harness = DeviceHarness.create(new RngDevice(new SplittableRandom(seed)), MEMORY)) {
            DriverQueue queue = harness.activate(features, size).getFirst();
            assertTrue(harness.allocator().position() <= TABLES, "the rings fit below the tables");
            Layout layout = new Layout(new ArrayList<>(), new BitSet((int) MEMORY));
            writeTables(harness, random, size, layout);
            for (int i = 0; i < size; i++) {
                writeDescriptor(harness, queue.descTableAddress() + (long) DESC_SIZE * i, random, size, layout, false);
            }
            for (int slot = 0; slot < size; slot++) {
                queue.setAvailRingEntry(slot, random.nextInt(10) == 0 ? random.nextInt(0x10000) : random.nextInt(size));
            }
            int availIdx = random.nextInt(8) == 0 ? random.nextInt(0x10000) : random.nextInt(size + 1);
            queue.setAvailIdx(availIdx);
            if (random.nextBoolean()) {
                queue.setUsedEvent(random.nextInt(0x10000));
            }

            byte[] before = snapshot(harness);
            harness.notifyQueue(0);
            harness.runUntilIdle();
            byte[] after = snapshot(harness);

            assertEquals(0, harness.loopErrors(), "an exception escaped the device");
            boolean broken = availIdx > size;
            if (broken) {
                assertEquals(0, queue.usedIdx(), "a broken queue returns nothing");
                assertTrue((harness.status() & DeviceStatus.DEVICE_NEEDS_RESET) != 0, "a broken queue needs a reset");
            } else {
                assertEquals(availIdx, queue.usedIdx(), "every chain made available comes back");
                assertEquals(0, harness.status() & DeviceStatus.DEVICE_NEEDS_RESET);
            }
            long usedRing = queue.usedRingAddress();
            long usedEnd = usedRing + VirtqLayout.usedRingBytes(size);
            for (int address = 0; address < MEMORY; address++) {
                if (before[address] != after[address]
                        && !layout.writable().get(address)
                        && (address < usedRing || address >= usedEnd)) {
                    fail(String.format(
                            "seed %d: byte %#x changed (%#x -> %#x) outside the writable buffers",
                            seed, address, before[address], after[address]));
                }
            }
        }
    }

    /** Writes zero to three indirect tables (some longer than the queue, some nesting) in the tables area. */
    private static void writeTables(DeviceHarness harness, SplittableRandom random, int size, Layout layout)
            throws GuestMemoryException {
        long next = TABLES;
        int count = random.nextInt(4);
        for (int t = 0; t < count; t++) {
            int entries = 1 + random.nextInt(2 * size + 1);
            if (next + (long) DESC_SIZE * entries > GAP) {
                break;
            }
            layout.tables().add(new long[] {next, entries});
            for (int i = 0; i < entries; i++) {
                writeDescriptor(harness, next + (long) DESC_SIZE * i, random, entries, layout, true);
            }
            next += (long) DESC_SIZE * entries;
        }
    }

    private static void writeDescriptor(
            DeviceHarness harness,
            long entry,
            SplittableRandom random,
            int tableEntries,
            Layout layout,
            boolean inTable)
            throws GuestMemoryException {
        int flags = (random.nextInt(3) != 0 ? VIRTQ_DESC_F_NEXT : 0)
                | (random.nextBoolean() ? VIRTQ_DESC_F_WRITE : 0)
                | (random.nextInt(inTable ? 12 : 6) == 0 ? VIRTQ_DESC_F_INDIRECT : 0);
        int next = random.nextInt(12) == 0 ? random.nextInt(0x10000) : random.nextInt(tableEntries);
        long address;
        long length;
        if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) {
            if (!layout.tables().isEmpty() && random.nextInt(4) != 0) {
                long[] table =
                        layout.tables().get(random.nextInt(layout.tables().size()));
                address = table[0];
                // Usually the whole table; sometimes less, a bad size, or more (into the never-written gap).
                length = switch (random.nextInt(6)) {
                    case 0 -> 0;
                    case 1 -> DESC_SIZE * table[1] - 8;
                    case 2 -> Math.min(DESC_SIZE * (table[1] + 4), DATA - address);
                    default -> DESC_SIZE * (1 + random.nextLong(table[1]));
                };
            } else {
                address = wildAddress(random);
                length = randomLength(random);
            }
        } else {
            boolean writable = (flags & VIRTQ_DESC_F_WRITE) != 0;
            address = random.nextInt(4) == 0
                    ? wildAddress(random)
                    : writable ? DATA + random.nextLong(MEMORY - DATA) : random.nextLong(MEMORY);
            length = randomLength(random);
            if (writable) {
                markWritable(layout.writable(), address, length);
            }
        }
        harness.memory().putLong(entry, address);
        harness.memory().putInt(entry + 8, (int) length);
        harness.memory().putShort(entry + 12, (short) flags);
        harness.memory().putShort(entry + 14, (short) next);
    }

    /** Addresses a hostile driver likes: outside memory, straddling its end, wrapping past 2^64. */
    private static long wildAddress(SplittableRandom random) {
        return switch (random.nextInt(4)) {
            case 0 -> MEMORY - 1 - random.nextInt(64);
            case 1 -> -1L - random.nextInt(64);
            case 2 -> MEMORY + random.nextLong(1L << 40);
            default -> random.nextLong();
        };
    }

    private static long randomLength(SplittableRandom random) {
        return switch (random.nextInt(6)) {
            case 0 -> 0;
            case 1 -> 0xffff_ffffL;
            case 2 -> 0x8000_0000L + random.nextInt(1 << 20);
            default -> random.nextInt(2048);
        };
    }

    private static void markWritable(BitSet writable, long address, long length) {
        long end = address + length;
        if (address >= 0 && address < MEMORY && end > address) {
            writable.set((int) address, (int) Math.min(end, MEMORY));
        }
    }

    private static byte[] snapshot(DeviceHarness harness) throws GuestMemoryException {
        byte[] bytes = new byte[(int) MEMORY];
        harness.memory().readFully(0, bytes);
        return bytes;
    }
}
