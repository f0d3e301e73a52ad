// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.mmio;

import static dev.vmm4j.virtio.mmio.MmioRegisters.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.virtio.DeviceStatus;
import dev.vmm4j.virtio.VirtioFeatures;
import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.rng.RngDevice;
import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.ForwardingVirtioDevice;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The virtio-mmio register interface and status machine (virtio 1.2, 4.2.2 and 3.1). */
class MmioTransportTest {
    private static final int ACK_DRIVER = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER;
    private final DeviceHarness harness = DeviceHarness.create(new RngDevice(new Random(3)));

    @AfterEach
    void close() {
        harness.close();
    }

    @Test
    void identifiesItselfAsVersion2() {
        assertEquals(0x74726976, harness.readRegister(MAGIC_VALUE));
        assertEquals(2, harness.readRegister(VERSION_REG));
        assertEquals(VirtioIds.RNG, harness.readRegister(DEVICE_ID));
        assertEquals(VMM4J_VENDOR_ID, harness.readRegister(VENDOR_ID));
        harness.writeRegister(QUEUE_SEL, 0);
        assertEquals(RngDevice.QUEUE_SIZE, harness.readRegister(QUEUE_NUM_MAX));
        harness.writeRegister(QUEUE_SEL, 1);
        assertEquals(0, harness.readRegister(QUEUE_NUM_MAX), "4.2.2.1: a queue that does not exist has QueueNumMax 0");
        assertEquals(-1, harness.readRegister(SHM_LEN_LOW), "no shared memory regions");
    }

    @Test
    void offersVersion1IndirectAndEventIdx() {
        long features = harness.offeredFeatures();
        assertEquals(VirtioFeatures.TRANSPORT_FEATURES, features);
        harness.writeRegister(DEVICE_FEATURES_SEL, 2);
        assertEquals(0, harness.readRegister(DEVICE_FEATURES));
    }

    @Test
    void featuresOkIsRefusedWithoutVersion1() {
        // 3.1.1 / 6.1: the device does not support legacy drivers, so FEATURES_OK stays clear.
        assertThrows(
                IllegalStateException.class, () -> harness.activate(1L << VirtioFeatures.VIRTIO_RING_F_EVENT_IDX, 0));
        assertEquals(ACK_DRIVER, harness.status());
    }

    @Test
    void featuresOkIsRefusedForFeaturesNotOffered() {
        assertThrows(
                IllegalStateException.class, () -> harness.activate(VirtioFeatures.TRANSPORT_FEATURES | (1L << 40), 0));
        assertEquals(0, harness.status() & DeviceStatus.FEATURES_OK);
    }

    @Test
    void driverOkWithoutFeaturesOkIsIgnored() {
        harness.writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE);
        harness.writeRegister(STATUS, ACK_DRIVER);
        harness.writeRegister(STATUS, ACK_DRIVER | DeviceStatus.DRIVER_OK);
        assertEquals(ACK_DRIVER, harness.status());
    }

    @Test
    void statusBitsCannotBeClearedExceptByReset() {
        harness.writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE);
        harness.writeRegister(STATUS, ACK_DRIVER);
        harness.writeRegister(STATUS, DeviceStatus.DRIVER);
        assertEquals(ACK_DRIVER, harness.status());
        harness.writeRegister(STATUS, 0);
        assertEquals(0, harness.status());
    }

    @Test
    void queueReadyWithRingsOutsideMemoryNeedsReset() {
        int generation = harness.readRegister(CONFIG_GENERATION);
        harness.writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE);
        harness.writeRegister(STATUS, ACK_DRIVER);
        harness.writeRegister(QUEUE_SEL, 0);
        harness.writeRegister(QUEUE_NUM, 16);
        harness.writeRegister(QUEUE_DESC_LOW, 0);
        harness.writeRegister(QUEUE_DESC_HIGH, 0x10); // 64 GiB: not guest memory
        harness.writeRegister(QUEUE_READY, 1);
        assertEquals(0, harness.readRegister(QUEUE_READY));
        assertTrue((harness.status() & DeviceStatus.DEVICE_NEEDS_RESET) != 0);
        assertEquals(INT_CONFIG, harness.readRegister(INTERRUPT_STATUS) & INT_CONFIG);
        assertNotEquals(generation, harness.readRegister(CONFIG_GENERATION));
        assertEquals(1, harness.interruptCount());
        harness.writeRegister(STATUS, 0);
        assertEquals(0, harness.status(), "a reset clears DEVICE_NEEDS_RESET");
        harness.activate();
    }

    @Test
    void driverOkWithoutTheRequestQueueNeedsReset() {
        harness.writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE);
        harness.writeRegister(STATUS, ACK_DRIVER);
        harness.writeRegister(DRIVER_FEATURES_SEL, 1);
        harness.writeRegister(DRIVER_FEATURES, 1); // VIRTIO_F_VERSION_1
        harness.writeRegister(STATUS, ACK_DRIVER | DeviceStatus.FEATURES_OK);
        harness.writeRegister(STATUS, ACK_DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK);
        assertTrue((harness.status() & DeviceStatus.DEVICE_NEEDS_RESET) != 0, "rng cannot run without its queue");
    }

    @Test
    void queueRegistersAreFrozenAfterDriverOk() {
        DriverQueue queue = harness.activate().getFirst();
        harness.writeRegister(QUEUE_SEL, 0);
        harness.writeRegister(QUEUE_DESC_LOW, 0x12340);
        harness.writeRegister(QUEUE_READY, 0);
        assertEquals(1, harness.readRegister(QUEUE_READY));
        long buffer = harness.allocate(8);
        int head = queue.addChain(DriverQueue.Buffer.writable(buffer, 8));
        harness.notifyQueue(0);
        harness.runUntilIdle();
        assertEquals(head, queue.used(0).id(), "the queue still works where the driver first put it");
    }

    @Test
    void interruptStatusIsAcknowledgedBitByBit() {
        DriverQueue queue = harness.activate().getFirst();
        queue.addChain(DriverQueue.Buffer.writable(harness.allocate(8), 8));
        harness.notifyQueue(0);
        harness.runUntilIdle();
        harness.transport().interrupt().signalConfigChange();
        assertEquals(INT_VRING | INT_CONFIG, harness.readRegister(INTERRUPT_STATUS));
        harness.writeRegister(INTERRUPT_ACK, INT_VRING);
        assertEquals(INT_CONFIG, harness.readRegister(INTERRUPT_STATUS));
        harness.writeRegister(INTERRUPT_ACK, INT_CONFIG);
        assertEquals(0, harness.readRegister(INTERRUPT_STATUS));
    }

    @Test
    void oddWidthsAndUnknownQueuesAreIgnored() {
        MemorySegment twoBytes = MemorySegment.ofArray(new byte[] {1, 1});
        harness.transport().write(STATUS, twoBytes);
        assertEquals(0, harness.status());
        MemorySegment read = MemorySegment.ofArray(new byte[] {9, 9});
        harness.transport().read(MAGIC_VALUE, read);
        assertEquals(
                0, read.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 0), "a 16-bit register read returns 0");
        harness.activate();
        harness.notifyQueue(7);
        harness.notifyQueue(-1);
        assertEquals(0, harness.runUntilIdle(), "no queue 7 or -1 to notify");
    }

    @Test
    void resetStopsTheDeviceAndItCanStartAgain() {
        DriverQueue first = harness.activate().getFirst();
        first.addChain(DriverQueue.Buffer.writable(harness.allocate(8), 8));
        harness.writeRegister(STATUS, 0);
        harness.notifyQueue(0); // the old queue is gone: nothing may be served
        assertEquals(0, harness.runUntilIdle());
        assertEquals(0, first.usedIdx());
        DriverQueue second = harness.activate().getFirst();
        int head = second.addChain(DriverQueue.Buffer.writable(harness.allocate(8), 8));
        harness.notifyQueue(0);
        harness.runUntilIdle();
        assertEquals(head, second.used(0).id());
    }

    /** An rng whose reset waits until released, as a device whose transfer is in flight does. */
    static final class SlowToReset extends ForwardingVirtioDevice {
        final CountDownLatch resetting = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        SlowToReset() {
            super(new RngDevice(new Random(5)));
        }

        @Override
        public void reset() {
            resetting.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            super.reset();
        }
    }

    @Test
    void aResetThatWaitsForTheDeviceHoldsUpNoOtherRegisterAccess() throws Exception {
        SlowToReset device = new SlowToReset();
        try (DeviceHarness slow = DeviceHarness.create(device)) {
            MmioTransport transport = slow.transport();
            slow.activate();
            int running = slow.status();
            try {
                Thread resetter = Thread.ofPlatform().name("vcpu-0").start(() -> write(transport, STATUS, 0));
                assertTrue(device.resetting.await(30, TimeUnit.SECONDS));
                // Another vCPU's accesses while vCPU 0 waits in the reset: an interrupt handler's, a driver polling
                // Status.
                CompletableFuture<int[]> reads = CompletableFuture.supplyAsync(() -> new int[] {
                    read(transport, INTERRUPT_STATUS), read(transport, STATUS), read(transport, MAGIC_VALUE)
                });
                int[] values = reads.get(30, TimeUnit.SECONDS); // a transport that resets under its lock never answers
                assertEquals(0, values[0]);
                assertEquals(running, values[1], "4.2.2.1: Status reads as it was until the reset is done");
                assertEquals(0x74726976, values[2]);
                device.release.countDown();
                assertTrue(resetter.join(Duration.ofSeconds(30)), "the reset never finished");
            } finally {
                device.release.countDown();
            }
            assertEquals(0, slow.status(), "done: Status reads 0");
            slow.activate(); // and the driver can start again
        }
    }

    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static int read(MmioTransport transport, int offset) {
        MemorySegment data = MemorySegment.ofArray(new byte[4]);
        transport.read(offset, data);
        return data.get(LE_INT, 0);
    }

    private static void write(MmioTransport transport, int offset, int value) {
        MemorySegment data = MemorySegment.ofArray(new byte[4]);
        data.set(LE_INT, 0, value);
        transport.write(offset, data);
    }
}
