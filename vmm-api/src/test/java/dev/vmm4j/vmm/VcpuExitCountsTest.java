// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Exit counts and their reporter: reports add up to the counts, while a vCPU thread counts concurrently. */
class VcpuExitCountsTest {
    @TempDir
    Path dir;

    @Test
    void reportsAddUpToTheCountsWhileTheVcpuCounts() throws Exception {
        VcpuExitCounts counts = new VcpuExitCounts("counts-test", 3);
        int perKind = 200_000;
        Path file = dir.resolve("exits.jfr");
        try (Recording recording = new Recording()) {
            recording.enable("dev.vmm4j.VcpuExits");
            recording.start();
            VcpuExitReporter.register(counts);
            assertTrue(VcpuExitReporter.isLive(counts));
            Thread vcpu = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < perKind; i++) {
                    counts.count(VcpuExitCounts.IO_OUT);
                    counts.count(VcpuExitCounts.MMIO_READ);
                    if (i % 1000 == 0) {
                        counts.count(VcpuExitCounts.INTR);
                    }
                }
            });
            while (vcpu.isAlive()) {
                VcpuExitReporter.reportAll(); // as JFR's periodic thread does, racing the counting
            }
            vcpu.join();
            VcpuExitReporter.forget(counts);
            assertFalse(VcpuExitReporter.isLive(counts), "forgotten once its thread ends");
            assertFalse(counts.report(), "nothing left to report");
            recording.stop();
            recording.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().equals("dev.vmm4j.VcpuExits"))
                .filter(e -> "counts-test".equals(e.getString("vm")))
                .toList();
        assertFalse(events.isEmpty());
        assertEquals(perKind, sum(events, "ioOut"));
        assertEquals(perKind, sum(events, "mmioRead"));
        assertEquals(perKind / 1000, sum(events, "intr"));
        assertEquals(0, sum(events, "ioIn") + sum(events, "hlt") + sum(events, "other"));
        assertEquals(2L * perKind + perKind / 1000, sum(events, "total"));
        for (RecordedEvent event : events) {
            assertEquals(3, event.getInt("vcpu"));
            assertTrue(event.getLong("total") > 0, "no event for a period without exits");
        }
    }

    @Test
    void withoutARecordingNothingIsReportedAndTheCountsWaitForOne() throws Exception {
        VcpuExitCounts counts = new VcpuExitCounts("unrecorded", 0);
        counts.count(VcpuExitCounts.HLT);
        assertFalse(counts.report(), "no recording enables the event");
        assertEquals(1, counts.get(VcpuExitCounts.HLT));
        Path file = dir.resolve("later.jfr");
        try (Recording recording = new Recording()) {
            recording.enable("dev.vmm4j.VcpuExits");
            recording.start();
            assertTrue(counts.report(), "what no recording took goes to the next one");
            recording.stop();
            recording.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                .filter(e -> "unrecorded".equals(e.getString("vm")))
                .toList();
        assertEquals(1, events.size());
        assertEquals(1, events.getFirst().getLong("hlt"));
    }

    private static long sum(List<RecordedEvent> events, String field) {
        return events.stream().mapToLong(e -> e.getLong(field)).sum();
    }
}
