// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import dev.vmm4j.virtio.testing.FrameSocketPair;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The periodic JFR event of a net device's traffic: the events add up to what the device moved while recorded. */
class NetTrafficEventTest {
    private static final int TX = 1;

    @TempDir
    Path dir;

    @Test
    void trafficEventsAddUpToTheFramesSent() throws Exception {
        SplittableRandom random = new SplittableRandom(19);
        Path file = dir.resolve("net.jfr");
        String device;
        try (Recording recording = new Recording()) {
            recording.enable("dev.vmm4j.NetTraffic");
            recording.start();
            try (FrameSocketPair pair = FrameSocketPair.create();
                    DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()))) {
                device = pair.devicePort().toString();
                DriverQueue tx = harness.activate().get(TX);
                for (int i = 0; i < 3; i++) {
                    byte[] frame = Frames.withZeroHeader(random, 100 + i);
                    long gpa = harness.allocate(frame.length);
                    harness.memory().writeFully(gpa, frame);
                    tx.addChain(Buffer.readable(gpa, frame.length));
                    harness.notifyQueue(TX);
                    harness.runUntilIdle();
                    pair.receiveFromGuest();
                    NetTrafficReporter.reportAll();
                }
            }
            recording.stop();
            recording.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().equals("dev.vmm4j.NetTraffic"))
                .filter(e -> device.equals(e.getString("device")))
                .toList();
        assertEquals(3, events.stream().mapToLong(e -> e.getLong("txFrames")).sum(), events.toString());
        assertEquals(
                100 + 101 + 102,
                events.stream().mapToLong(e -> e.getLong("txBytes")).sum(),
                "bytes without the virtio-net header: " + events);
        assertEquals(0, events.stream().mapToLong(e -> e.getLong("txDropped")).sum());
    }
}
