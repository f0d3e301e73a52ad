// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.rng;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import dev.vmm4j.virtio.testing.DriverQueue.UsedElement;
import java.util.Arrays;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** virtio-rng through the MMIO transport, driven by the harness. */
class RngDeviceTest {
    @Test
    void fillsWritableBuffersFromItsSource() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(new RngDevice(new Random(42)))) {
            assertEquals(VirtioIds.RNG, harness.device().deviceType());
            DriverQueue queue = harness.activate().getFirst();
            long first = harness.allocate(10);
            long second = harness.allocate(6);
            int head = queue.addChain(Buffer.writable(first, 10), Buffer.writable(second, 6));
            harness.notifyQueue(0);
            harness.runUntilIdle();
            assertEquals(new UsedElement(head, 16), queue.used(0));
            byte[] expected = new byte[16];
            new Random(42).nextBytes(expected);
            byte[] got = new byte[16];
            byte[] a = new byte[10];
            byte[] b = new byte[6];
            harness.memory().readFully(first, a);
            harness.memory().readFully(second, b);
            System.arraycopy(a, 0, got, 0, 10);
            System.arraycopy(b, 0, got, 10, 6);
            assertArrayEquals(expected, got);
            assertEquals(1, harness.interruptCount());
            assertEquals(1, harness.transport().interruptStatus() & 1, "InterruptStatus says: used buffer");
        }
    }

    @Test
    void hostSecureSourceGivesBytes() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(new RngDevice())) {
            DriverQueue queue = harness.activate().getFirst();
            long buffer = harness.allocate(4096);
            queue.addChain(Buffer.writable(buffer, 4096));
            harness.notifyQueue(0);
            harness.runUntilIdle();
            byte[] bytes = new byte[4096];
            harness.memory().readFully(buffer, bytes);
            assertFalse(Arrays.equals(new byte[4096], bytes), "4 KiB of zeros from a secure source");
            assertEquals(4096, queue.used(0).length());
        }
    }

    @Test
    void aHugeRequestGetsAtMostTheCap() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(new RngDevice(new SplittableRandom(1)))) {
            DriverQueue queue = harness.activate().getFirst();
            long buffer = harness.allocate(1 << 20);
            // The same megabyte offered 200 times: 200 MiB asked, one cap's worth served.
            Buffer[] buffers = new Buffer[200];
            Arrays.fill(buffers, Buffer.writable(buffer, 1 << 20));
            int head = queue.addChain(buffers);
            harness.notifyQueue(0);
            harness.runUntilIdle();
            assertEquals(new UsedElement(head, RngDevice.MAX_BYTES_PER_REQUEST), queue.used(0));
        }
    }

    @Test
    void readableOnlyAndMalformedChainsComeBackEmpty() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(new RngDevice(new Random(1)))) {
            DriverQueue queue = harness.activate().getFirst();
            int readable = queue.addChain(Buffer.readable(harness.allocate(8), 8));
            int outside = queue.addChain(Buffer.writable(harness.memory().totalSize() - 4, 8));
            harness.notifyQueue(0);
            harness.runUntilIdle();
            assertEquals(new UsedElement(readable, 0), queue.used(0));
            assertEquals(new UsedElement(outside, 0), queue.used(1));
            assertEquals(0, harness.loopErrors());
        }
    }

    @Test
    void manyChainsInOneNotificationGetOneInterrupt() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(new RngDevice(new Random(1)))) {
            DriverQueue queue = harness.activate().getFirst();
            for (int i = 0; i < 100; i++) {
                queue.addChain(Buffer.writable(harness.allocate(16), 16));
            }
            harness.notifyQueue(0);
            harness.runUntilIdle();
            assertEquals(100, queue.usedIdx());
            assertEquals(1, harness.interruptCount());
        }
    }
}
