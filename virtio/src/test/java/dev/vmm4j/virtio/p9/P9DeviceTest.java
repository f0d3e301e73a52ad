// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.p9;

import static dev.vmm4j.virtio.p9.P9Messages.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import dev.vmm4j.virtio.testing.DriverQueue.UsedElement;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** virtio-9p through the MMIO transport, driven by the harness: the tag in config space, messages over chains. */
class P9DeviceTest {
    @TempDir
    Path share;

    @Test
    void configSpaceHoldsTheMountTag() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(new P9Device(P9Server.open(share, false), "hostshare"))) {
            assertEquals(VirtioIds.NINE_P, harness.device().deviceType());
            assertEquals(1, harness.offeredFeatures() & 1, "VIRTIO_9P_MOUNT_TAG");
            assertEquals(9, harness.readConfig(0, 2));
            StringBuilder tag = new StringBuilder();
            for (int i = 0; i < 9; i++) {
                tag.append((char) harness.readConfig(2 + i, 1));
            }
            assertEquals("hostshare", tag.toString());
            assertEquals(0, harness.readConfig(11, 1));
        }
    }

    @Test
    void aBadTagIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> P9Device.checkTag(""));
        assertThrows(IllegalArgumentException.class, () -> P9Device.checkTag("a\0b"));
        assertThrows(IllegalArgumentException.class, () -> P9Device.checkTag("t".repeat(256)));
        assertThrows(IllegalArgumentException.class, () -> VirtioDevices.sharedDirectory(share, "", false));
    }

    @Test
    void servesMessagesFromChainsSplitAcrossBuffers() throws Exception {
        Files.writeString(share.resolve("hello"), "hello from the host");
        P9Server server = P9Server.open(share, false);
        try (DeviceHarness harness = DeviceHarness.create(new P9Device(server, "tag"))) {
            DriverQueue queue = harness.activate().getFirst();
            assertEquals(
                    TVERSION + 1,
                    exchange(
                            harness, queue, message(TVERSION, 0xffff).u32(65536).str("9P2000.L")));
            assertEquals(
                    TATTACH + 1,
                    exchange(
                            harness,
                            queue,
                            message(TATTACH, 1)
                                    .u32(0)
                                    .u32(NOFID)
                                    .str("")
                                    .str("")
                                    .u32(0)));
            assertEquals(
                    TWALK + 1,
                    exchange(
                            harness,
                            queue,
                            message(TWALK, 2).u32(0).u32(1).u16(1).str("hello")));
            assertEquals(
                    TLOPEN + 1,
                    exchange(harness, queue, message(TLOPEN, 3).u32(1).u32(0)));
            // a Tread whose reply header and data go to separate writable buffers, as Linux's zero-copy reads do
            byte[] request = message(TREAD, 4).u32(1).u64(0).u32(4096).bytes();
            long in = harness.allocate(request.length);
            harness.memory().writeFully(in, request);
            long header = harness.allocate(11);
            long data = harness.allocate(4096);
            int head = queue.addChain(
                    Buffer.readable(in, request.length), Buffer.writable(header, 11), Buffer.writable(data, 4096));
            harness.notifyQueue(0);
            harness.runUntilIdle();
            assertEquals(new UsedElement(head, 11 + 19), queue.used(4));
            byte[] got = new byte[19];
            harness.memory().readFully(data, got);
            assertEquals("hello from the host", new String(got, StandardCharsets.UTF_8));
            assertEquals(1, server.requestCount(TREAD));
            assertEquals(0, harness.loopErrors());
        }
    }

    @Test
    void aReplyThatDoesNotFitIsEmsgsizeOrNothing() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(new P9Device(P9Server.open(share, false), "tag"))) {
            DriverQueue queue = harness.activate().getFirst();
            byte[] version =
                    message(TVERSION, 0xffff).u32(65536).str("9P2000.L").bytes();
            long in = harness.allocate(version.length);
            harness.memory().writeFully(in, version);
            long out = harness.allocate(64);
            int small = queue.addChain(Buffer.readable(in, version.length), Buffer.writable(out, 12));
            int tiny = queue.addChain(Buffer.readable(in, version.length), Buffer.writable(out, 4));
            int none = queue.addChain(Buffer.readable(in, version.length));
            harness.notifyQueue(0);
            harness.runUntilIdle();
            assertEquals(new UsedElement(small, 11), queue.used(0));
            byte[] reply = new byte[11];
            harness.memory().readFully(out, reply);
            ByteBuffer b = ByteBuffer.wrap(reply).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(RLERROR, b.get(4));
            assertEquals(90, b.getInt(7), "EMSGSIZE");
            assertEquals(new UsedElement(tiny, 0), queue.used(1));
            assertEquals(new UsedElement(none, 0), queue.used(2));
            assertEquals(0, harness.loopErrors());
        }
    }

    private static P9TestClient.Message message(int type, int tag) {
        return new P9TestClient.Message(type, tag);
    }

    /** Sends one message in one readable buffer, with an 8 KiB writable one. {@return the reply's type} */
    private static int exchange(DeviceHarness harness, DriverQueue queue, P9TestClient.Message message)
            throws Exception {
        byte[] request = message.bytes();
        long in = harness.allocate(request.length);
        harness.memory().writeFully(in, request);
        long out = harness.allocate(8192);
        int before = queue.usedIdx();
        queue.addChain(Buffer.readable(in, request.length), Buffer.writable(out, 8192));
        harness.notifyQueue(0);
        harness.runUntilIdle();
        byte[] header = new byte[7];
        harness.memory().readFully(out, header);
        assertEquals(before + 1, queue.usedIdx());
        return header[4] & 0xff;
    }
}
