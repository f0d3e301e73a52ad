// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.p9;

import static dev.vmm4j.virtio.p9.P9Messages.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import java.nio.file.Path;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JFR event of each 9P request, recorded through the harness: its share, message, sizes, and error. */
class P9RequestEventTest {
    @TempDir
    Path dir;

    @Test
    void eachRequestIsAnEventWithItsMessageAndErrno() throws Exception {
        Path share = dir.resolve("share");
        java.nio.file.Files.createDirectory(share);
        Path file = dir.resolve("p9.jfr");
        try (Recording recording = new Recording()) {
            recording.enable("dev.vmm4j.P9Request");
            recording.start();
            try (DeviceHarness harness = DeviceHarness.create(new P9Device(P9Server.open(share, false), "jfrshare"))) {
                DriverQueue queue = harness.activate().getFirst();
                send(
                        harness,
                        queue,
                        new P9TestClient.Message(TVERSION, 0xffff).u32(65536).str("9P2000.L"));
                send(
                        harness,
                        queue,
                        new P9TestClient.Message(TATTACH, 1)
                                .u32(0)
                                .u32(NOFID)
                                .str("")
                                .str("")
                                .u32(0));
                send(
                        harness,
                        queue,
                        new P9TestClient.Message(TWALK, 2).u32(0).u32(1).u16(1).str("missing"));
            }
            recording.stop();
            recording.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().equals("dev.vmm4j.P9Request"))
                .filter(e -> "jfrshare".equals(e.getString("mountTag")))
                .toList();
        assertEquals(
                List.of("Tversion", "Tattach", "Twalk"),
                events.stream().map(e -> e.getString("message")).toList());
        assertNull(events.get(0).getString("error"));
        assertNull(events.get(1).getString("error"));
        assertEquals("ENOENT", events.get(2).getString("error"), "a walk to a missing name fails with ENOENT");
        for (RecordedEvent event : events) {
            assertTrue(event.getLong("requestBytes") > 7, event.toString());
            assertTrue(event.getLong("replyBytes") >= 11, event.toString());
            assertTrue(!event.getDuration().isNegative(), event.toString());
        }
    }

    private static void send(DeviceHarness harness, DriverQueue queue, P9TestClient.Message message) throws Exception {
        byte[] request = message.bytes();
        long in = harness.allocate(request.length);
        harness.memory().writeFully(in, request);
        long out = harness.allocate(8192);
        queue.addChain(Buffer.readable(in, request.length), Buffer.writable(out, 8192));
        harness.notifyQueue(0);
        harness.runUntilIdle();
    }
}
