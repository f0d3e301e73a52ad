// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import dev.vmm4j.virtio.testing.DriverQueue.UsedElement;
import dev.vmm4j.virtio.testing.FrameSocketPair;
import java.util.Arrays;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** virtio-net through the MMIO transport, with a socket pair standing in for the tap and the test as both ends. */
class NetDeviceTest {
    private static final MacAddress MAC = MacAddress.parse("52:54:00:12:34:56");
    private static final int RX = 0;
    private static final int TX = 1;
    private static final int BUFFER = NetFeatures.HEADER_BYTES + 1514;

    private final SplittableRandom random = new SplittableRandom(7);

    @Test
    void offersCrosvmsFeaturesAndShowsItsMac() throws Exception {
        try (FrameSocketPair pair = FrameSocketPair.create();
                DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort(), Optional.of(MAC)))) {
            assertEquals(VirtioIds.NET, harness.device().deviceType());
            long offered = harness.offeredFeatures();
            for (int feature : new int[] {
                NetFeatures.CSUM,
                NetFeatures.GUEST_CSUM,
                NetFeatures.MAC,
                NetFeatures.GUEST_TSO4,
                NetFeatures.GUEST_UFO,
                NetFeatures.HOST_TSO4,
                NetFeatures.HOST_UFO
            }) {
                assertTrue((offered & (1L << feature)) != 0, "feature " + feature);
            }
            byte[] mac = new byte[6];
            for (int i = 0; i < 6; i++) {
                mac[i] = (byte) harness.readConfig(i, 1);
            }
            assertEquals(MAC, new MacAddress(mac));
            assertEquals(2, harness.activate().size());
        }
        try (FrameSocketPair pair = FrameSocketPair.create();
                DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()))) {
            assertEquals(0, harness.offeredFeatures() & (1L << NetFeatures.MAC), "no MAC, no MAC feature");
        }
    }

    @Test
    void transmitsTheGuestsFramesAsTheyAre() throws Exception {
        try (FrameSocketPair pair = FrameSocketPair.create();
                DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()))) {
            DriverQueue tx = harness.activate().get(TX);
            byte[] frame = Frames.withZeroHeader(random, 1514);
            long gpa = harness.allocate(frame.length);
            harness.memory().writeFully(gpa, frame);
            // Header and frame split where Linux would not split them: the device must not care.
            int head = tx.addChain(Buffer.readable(gpa, 5), Buffer.readable(gpa + 5, frame.length - 5));
            harness.notifyQueue(TX);
            harness.runUntilIdle();
            assertArrayEquals(frame, pair.receiveFromGuest());
            assertEquals(new UsedElement(head, 0), tx.used(0));
            assertEquals(1, harness.interruptCount());
            NetStatistics statistics = ((NetDevice) harness.device()).statistics();
            assertEquals(1, statistics.txFrames());
            assertEquals(1514, statistics.txBytes());
        }
    }

    @Test
    void receivesIntoTheGuestsBuffersAndSaysOneBufferPerFrame() throws Exception {
        try (FrameSocketPair pair = FrameSocketPair.create();
                DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()))) {
            DriverQueue rx = harness.activate().get(RX);
            long gpa = harness.allocate(BUFFER);
            harness.memory().writeFully(gpa, filled(BUFFER, (byte) 0x77));
            int head = rx.addChain(Buffer.writable(gpa, 100), Buffer.writable(gpa + 100, BUFFER - 100));
            harness.notifyQueue(RX);
            byte[] frame = Frames.withZeroHeader(random, 800);
            assertTrue(pair.sendToGuest(frame));
            harness.runUntilIdle();
            assertEquals(new UsedElement(head, frame.length), rx.used(0));
            byte[] got = new byte[BUFFER];
            harness.memory().readFully(gpa, got);
            byte[] expected = frame.clone();
            expected[10] = 1; // num_buffers
            assertArrayEquals(expected, Arrays.copyOf(got, frame.length));
            assertArrayEquals(
                    filled(BUFFER - frame.length, (byte) 0x77),
                    Arrays.copyOfRange(got, frame.length, BUFFER),
                    "nothing past the frame is touched");
        }
    }

    @Test
    void framesWaitInThePortUntilTheGuestPostsBuffers() throws Exception {
        try (FrameSocketPair pair = FrameSocketPair.create();
                DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()))) {
            DriverQueue rx = harness.activate().get(RX);
            byte[][] frames = new byte[5][];
            for (int i = 0; i < frames.length; i++) {
                frames[i] = Frames.withZeroHeader(random, 60 + i);
                assertTrue(pair.sendToGuest(frames[i]));
            }
            harness.runUntilIdle(); // no buffer: the device takes nothing, and does not spin
            NetDevice device = (NetDevice) harness.device();
            assertEquals(0, device.statistics().rxFrames());
            for (int round = 0; round < frames.length; round++) {
                long gpa = harness.allocate(BUFFER);
                rx.addChain(Buffer.writable(gpa, BUFFER));
                harness.notifyQueue(RX);
                harness.runUntilIdle();
                byte[] got = new byte[frames[round].length];
                harness.memory().readFully(gpa, got);
                assertArrayEquals(Frames.frame(frames[round]), Frames.frame(got), "frame " + round + ", in order");
            }
            assertEquals(new NetStatistics(5, 5 * 60 + 10, 0, 0, 0, 0, 0), device.statistics());
        }
    }

    @Test
    void aFrameLargerThanTheBufferIsLostAndTheBufferTakesTheNext() throws Exception {
        try (FrameSocketPair pair = FrameSocketPair.create();
                DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()))) {
            DriverQueue rx = harness.activate().get(RX);
            long gpa = harness.allocate(BUFFER + 16);
            harness.memory().writeFully(gpa + BUFFER, filled(16, (byte) 0x5a));
            int head = rx.addChain(Buffer.writable(gpa, BUFFER));
            harness.notifyQueue(RX);
            assertTrue(pair.sendToGuest(Frames.withZeroHeader(random, 9000)));
            byte[] small = Frames.withZeroHeader(random, 64);
            assertTrue(pair.sendToGuest(small));
            harness.runUntilIdle();
            assertEquals(new UsedElement(head, small.length), rx.used(0));
            assertEquals(1, rx.usedIdx());
            byte[] canary = new byte[16];
            harness.memory().readFully(gpa + BUFFER, canary);
            assertArrayEquals(filled(16, (byte) 0x5a), canary, "nothing written past the buffer");
            assertEquals(1, ((NetDevice) harness.device()).statistics().rxLost());
        }
    }

    @Test
    void aHostThatStopsReadingStallsTheGuestInsteadOfGrowingMemory() throws Exception {
        try (FrameSocketPair pair = FrameSocketPair.create();
                DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()))) {
            DriverQueue tx = harness.activate().get(TX);
            byte[] frame = Frames.withZeroHeader(random, 1514);
            long gpa = harness.allocate(frame.length);
            harness.memory().writeFully(gpa, frame);
            int offered = 0;
            // Far more than a socket buffer holds: the device must stop taking chains when the port is full.
            for (int round = 0; round < 40; round++) {
                for (int i = 0; i < 128; i++) {
                    tx.addChain(Buffer.readable(gpa, frame.length));
                    offered++;
                }
                harness.notifyQueue(TX);
                harness.runUntilIdle();
                if (tx.usedIdx() < offered) {
                    break;
                }
            }
            int usedWhileStalled = tx.usedIdx();
            assertTrue(usedWhileStalled < offered, "the port filled up and the device stopped");
            harness.runUntilIdle();
            assertEquals(usedWhileStalled, tx.usedIdx(), "no progress without room, and no spinning");
            int drained = 0;
            while (pair.receiveFromGuest() != null) {
                drained++;
            }
            harness.runUntilIdle(); // the port is writable again: the device resumes
            while (pair.receiveFromGuest() != null) {
                drained++;
                harness.runUntilIdle();
            }
            assertEquals(offered, drained, "every frame arrived once the host read again");
            assertEquals(offered, tx.usedIdx());
            assertEquals(0, ((NetDevice) harness.device()).statistics().txDropped());
        }
    }

    @Test
    void aGuestThatPostsNoBuffersStallsTheHost() throws Exception {
        try (FrameSocketPair pair = FrameSocketPair.create();
                DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()))) {
            harness.activate();
            byte[] frame = Frames.withZeroHeader(random, 1514);
            int sent = 0;
            while (pair.sendToGuest(frame)) {
                sent++;
                harness.runUntilIdle();
                assertTrue(sent < 100_000, "the host's sends never stopped: something takes frames without buffers");
            }
            assertTrue(sent > 0);
            assertEquals(0, ((NetDevice) harness.device()).statistics().rxFrames());
        }
    }

    @Test
    void chainsInTheWrongDirectionComeBackUnused() throws Exception {
        try (FrameSocketPair pair = FrameSocketPair.create();
                DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()))) {
            var queues = harness.activate();
            long gpa = harness.allocate(BUFFER);
            int readableRx = queues.get(RX).addChain(Buffer.readable(gpa, BUFFER));
            int tinyRx = queues.get(RX).addChain(Buffer.writable(gpa, NetFeatures.HEADER_BYTES - 1));
            int writableTx = queues.get(TX).addChain(Buffer.readable(gpa, 64), Buffer.writable(gpa + 64, 64));
            int hugeTx = queues.get(TX)
                    .addChain(Buffer.readable(gpa, NetFeatures.HEADER_BYTES + NetFeatures.MAX_FRAME_BYTES + 1));
            assertTrue(pair.sendToGuest(Frames.withZeroHeader(random, 64)));
            harness.notifyQueue(RX);
            harness.notifyQueue(TX);
            harness.runUntilIdle();
            assertEquals(new UsedElement(readableRx, 0), queues.get(RX).used(0));
            assertEquals(new UsedElement(tinyRx, 0), queues.get(RX).used(1));
            assertEquals(new UsedElement(writableTx, 0), queues.get(TX).used(0));
            assertEquals(new UsedElement(hugeTx, 0), queues.get(TX).used(1));
            assertNull(pair.receiveFromGuest(), "nothing sent");
            assertEquals(4, ((NetDevice) harness.device()).statistics().malformedChains());
            assertEquals(0, harness.loopErrors());
        }
    }

    @Test
    void refusesHeadersAskingForWhatWasNotNegotiated() throws Exception {
        try (FrameSocketPair pair = FrameSocketPair.create();
                DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()))) {
            // The driver accepts no offload at all: any checksum or segmentation request is a lie.
            long features = harness.offeredFeatures() & ~0xffffffL;
            DriverQueue tx = harness.activate(features, 0).get(TX);
            byte[][] headers = {
                {1, 0, 0, 0, 0, 0, 14, 0, 16, 0, 0, 0}, // NEEDS_CSUM without VIRTIO_NET_F_CSUM
                {0, 1, 54, 0, (byte) 0xb4, 5, 0, 0, 0, 0, 0, 0}, // TCPv4 segmentation without HOST_TSO4
                {0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // no such gso_type
                {(byte) 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // unknown flags
            };
            for (byte[] header : headers) {
                byte[] frame = Frames.withZeroHeader(random, 100);
                System.arraycopy(header, 0, frame, 0, header.length);
                long gpa = harness.allocate(frame.length);
                harness.memory().writeFully(gpa, frame);
                tx.addChain(Buffer.readable(gpa, frame.length));
            }
            harness.notifyQueue(TX);
            harness.runUntilIdle();
            assertEquals(headers.length, tx.usedIdx());
            assertNull(pair.receiveFromGuest());
            assertEquals(
                    headers.length, ((NetDevice) harness.device()).statistics().txDropped());
        }
    }

    @Test
    void aClosedPortDropsTheGuestsFramesAndTheDeviceGoesOn() throws Exception {
        FrameSocketPair pair = FrameSocketPair.create();
        try (DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()))) {
            var queues = harness.activate();
            long rxBuffer = harness.allocate(BUFFER);
            queues.get(RX).addChain(Buffer.writable(rxBuffer, BUFFER));
            harness.notifyQueue(RX);
            pair.close();
            harness.runUntilIdle();
            byte[] frame = Frames.withZeroHeader(random, 60);
            long gpa = harness.allocate(frame.length);
            harness.memory().writeFully(gpa, frame);
            queues.get(TX).addChain(Buffer.readable(gpa, frame.length));
            harness.notifyQueue(TX);
            harness.runUntilIdle();
            assertEquals(1, queues.get(TX).usedIdx());
            assertEquals(0, queues.get(RX).usedIdx(), "the receive buffer stays the guest's");
            assertEquals(1, ((NetDevice) harness.device()).statistics().txDropped());
            assertEquals(0, harness.loopErrors());
        }
    }

    @Test
    void aPortThatHangsUpWhileTheGuestHasNoBuffersIsNotWatchedInALoop() throws Exception {
        FrameSocketPair pair = FrameSocketPair.create();
        try (DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()))) {
            DriverQueue rx = harness.activate().get(RX);
            assertTrue(pair.sendToGuest(Frames.withZeroHeader(random, 60)));
            pair.close();
            // epoll reports the hang-up whatever the device asks for; with no buffer to read into, it must stop asking.
            assertTrue(harness.runUntilIdle() < 10, "the loop kept handling the hang-up");
            long gpa = harness.allocate(BUFFER);
            rx.addChain(Buffer.writable(gpa, BUFFER));
            rx.addChain(Buffer.writable(gpa, BUFFER));
            harness.notifyQueue(RX);
            harness.runUntilIdle();
            assertEquals(1, rx.usedIdx(), "the frame sent before the hang-up still arrives, and nothing after it");
            assertEquals(0, harness.loopErrors());
        }
    }

    @Test
    void framesWaitingForRoomAreDroppedWhenThePortGoes() throws Exception {
        FrameSocketPair pair = FrameSocketPair.create();
        try (DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()))) {
            var queues = harness.activate();
            DriverQueue tx = queues.get(TX);
            byte[] frame = Frames.withZeroHeader(random, 1514);
            long gpa = harness.allocate(frame.length);
            harness.memory().writeFully(gpa, frame);
            int offered = 0;
            while (tx.usedIdx() == offered && offered < 5_000) {
                for (int i = 0; i < 64; i++) {
                    tx.addChain(Buffer.readable(gpa, frame.length));
                    offered++;
                }
                harness.notifyQueue(TX);
                harness.runUntilIdle();
            }
            assertTrue(tx.usedIdx() < offered, "the port filled up");
            long rxBuffer = harness.allocate(BUFFER);
            queues.get(RX).addChain(Buffer.writable(rxBuffer, BUFFER));
            harness.notifyQueue(RX);
            pair.close();
            harness.runUntilIdle();
            assertEquals(offered, tx.usedIdx(), "every chain came back once the port was gone");
            assertTrue(((NetDevice) harness.device()).statistics().txDropped() > 0);
            assertEquals(0, harness.loopErrors());
        }
    }

    @Test
    void worksAgainAfterAReset() throws Exception {
        try (FrameSocketPair pair = FrameSocketPair.create();
                DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()))) {
            for (int round = 0; round < 3; round++) {
                DriverQueue rx = harness.activate().get(RX);
                long gpa = harness.allocate(BUFFER);
                rx.addChain(Buffer.writable(gpa, BUFFER));
                harness.notifyQueue(RX);
                byte[] frame = Frames.withZeroHeader(random, 70);
                assertTrue(pair.sendToGuest(frame));
                harness.runUntilIdle();
                assertEquals(frame.length, rx.used(0).length(), "round " + round);
            }
        }
    }

    @Test
    void macAddressesAreCheckedWhenParsed() {
        assertEquals("52:54:00:12:34:56", MAC.toString());
        assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("52:54:00:12:34"));
        assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("52-54-00-12-34-56"));
        IllegalArgumentException multicast =
                assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("01:00:5e:00:00:01"));
        assertTrue(multicast.getMessage().contains("multicast"), multicast.getMessage());
        assertFalse(MAC.isMulticast());
    }

    private static byte[] filled(int length, byte value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, value);
        return bytes;
    }
}
