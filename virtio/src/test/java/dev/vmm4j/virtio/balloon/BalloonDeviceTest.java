// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.balloon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.mmio.MmioRegisters;
import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** virtio-balloon through the transport (virtio 1.2, 5.5). */
class BalloonDeviceTest {
    private static final long MEMORY = 16L << 20;

    private static byte[] pfns(long... gpas) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * gpas.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long gpa : gpas) {
            buffer.putInt((int) (gpa >>> 12));
        }
        return buffer.array();
    }

    @Test
    void targetIsInPagesCappedAndAnnouncedAsAConfigChange() {
        BalloonDevice balloon = new BalloonDevice(MEMORY);
        try (DeviceHarness harness = DeviceHarness.create(balloon, MEMORY)) {
            assertEquals(VirtioIds.BALLOON, harness.device().deviceType());
            harness.activate();
            int generation = harness.readRegister(MmioRegisters.CONFIG_GENERATION);
            balloon.setTargetBytes(3 * 4096 + 100);
            assertEquals(3, harness.readConfig(BalloonDevice.CONFIG_NUM_PAGES, 4), "rounded down to whole pages");
            assertEquals(3 * 4096, balloon.targetBytes());
            assertEquals(
                    MmioRegisters.INT_CONFIG,
                    harness.readRegister(MmioRegisters.INTERRUPT_STATUS) & MmioRegisters.INT_CONFIG);
            assertEquals(generation + 1, harness.readRegister(MmioRegisters.CONFIG_GENERATION));
            balloon.setTargetBytes(1L << 40);
            assertEquals(
                    MEMORY / 4096, harness.readConfig(BalloonDevice.CONFIG_NUM_PAGES, 4), "at most the guest's memory");
            assertThrows(IllegalArgumentException.class, () -> balloon.setTargetBytes(-1));
        }
    }

    @Test
    void theDriverWritesActual() {
        BalloonDevice balloon = new BalloonDevice(MEMORY);
        try (DeviceHarness harness = DeviceHarness.create(balloon, MEMORY)) {
            harness.activate();
            MemorySegment value = MemorySegment.ofArray(new byte[4]);
            value.set(ValueLayout.JAVA_INT_UNALIGNED, 0, 42);
            harness.transport().write(MmioRegisters.CONFIG + BalloonDevice.CONFIG_ACTUAL, value);
            assertEquals(42L * 4096, balloon.actualBytes());
            assertEquals(42, harness.readConfig(BalloonDevice.CONFIG_ACTUAL, 4));
            harness.transport().write(MmioRegisters.CONFIG + BalloonDevice.CONFIG_NUM_PAGES, value);
            assertEquals(0, balloon.targetBytes(), "num_pages is the device's to write");
            assertEquals(42L << 32, harness.readConfig(0, 8), "both fields in one 64-bit read");
        }
    }

    @Test
    void inflatedPagesAreGivenBackAndReadAsZero() throws Exception {
        BalloonDevice balloon = new BalloonDevice(MEMORY);
        try (DeviceHarness harness = DeviceHarness.create(balloon, MEMORY)) {
            DriverQueue inflate = harness.activate().getFirst();
            long pages = 0x800000; // 8 MiB, above the harness's rings and buffers
            byte[] data = new byte[4 * 4096];
            Arrays.fill(data, (byte) 0x77);
            harness.memory().writeFully(pages, data);
            byte[] list = pfns(pages, pages + 4096, pages + 3 * 4096, MEMORY + 4096); // the last is not guest memory
            long listAddress = harness.allocate(list.length);
            harness.memory().writeFully(listAddress, list);
            int head = inflate.addChain(Buffer.readable(listAddress, list.length));
            harness.notifyQueue(0);
            harness.runUntilIdle();
            assertEquals(new DriverQueue.UsedElement(head, 0), inflate.used(0));
            byte[] after = new byte[4 * 4096];
            harness.memory().readFully(pages, after);
            byte[] expected = data.clone();
            Arrays.fill(expected, 0, 2 * 4096, (byte) 0);
            Arrays.fill(expected, 3 * 4096, 4 * 4096, (byte) 0);
            assertArrayEquals(expected, after, "pages 0, 1 and 3 were given back; page 2 kept its data");
            assertEquals(3 * 4096, balloon.releasedBytes());
            assertEquals(1, balloon.skippedPfns());
            assertEquals(0, harness.loopErrors());
        }
    }

    @Test
    void deflatedPagesAreUsableAgain() throws Exception {
        BalloonDevice balloon = new BalloonDevice(MEMORY);
        try (DeviceHarness harness = DeviceHarness.create(balloon, MEMORY)) {
            var queues = harness.activate();
            long page = 0x900000;
            byte[] list = pfns(page);
            long listAddress = harness.allocate(list.length);
            harness.memory().writeFully(listAddress, list);
            queues.get(0).addChain(Buffer.readable(listAddress, 4));
            harness.notifyQueue(0);
            harness.runUntilIdle();
            int head = queues.get(1).addChain(Buffer.readable(listAddress, 4));
            harness.notifyQueue(1);
            harness.runUntilIdle();
            assertEquals(head, queues.get(1).used(0).id());
            harness.memory().putLong(page, 0x1234_5678_9abc_def0L);
            assertEquals(0x1234_5678_9abc_def0L, harness.memory().getLong(page));
        }
    }

    @Test
    void aTargetSetBeforeTheDriverIsAnnouncedOnActivation() {
        BalloonDevice balloon = new BalloonDevice(MEMORY);
        balloon.setTargetBytes(1 << 20);
        try (DeviceHarness harness = DeviceHarness.create(balloon, MEMORY)) {
            harness.activate();
            assertEquals(1, harness.interruptCount());
            assertEquals(256, harness.readConfig(BalloonDevice.CONFIG_NUM_PAGES, 4));
        }
    }

    @Test
    void offersMustTellHostAndDeflateOnOom() {
        try (DeviceHarness harness = DeviceHarness.create(new BalloonDevice(MEMORY), MEMORY)) {
            long features = harness.offeredFeatures();
            assertEquals(1, features & 1, "VIRTIO_BALLOON_F_MUST_TELL_HOST");
            assertEquals(4, features & 4, "VIRTIO_BALLOON_F_DEFLATE_ON_OOM");
        }
    }
}
