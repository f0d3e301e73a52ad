// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.balloon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading /proc: PSI first, MemAvailable without it. */
class LinuxMemoryPressureTest {
    @TempDir
    Path proc;

    private void meminfo(long totalKb, long availableKb) throws IOException {
        Files.writeString(
                proc.resolve("meminfo"),
                "MemTotal:       " + totalKb + " kB\nMemFree:          1000 kB\n" + "MemAvailable:   " + availableKb
                        + " kB\n");
    }

    private void psi(String someAvg10) throws IOException {
        Files.createDirectories(proc.resolve("pressure"));
        Files.writeString(
                proc.resolve("pressure/memory"),
                "some avg10=" + someAvg10 + " avg60=0.00 avg300=0.00 total=12\n"
                        + "full avg10=0.00 avg60=0.00 avg300=0.00 total=3\n");
    }

    @Test
    void psiDecidesWhenPresent() throws IOException {
        meminfo(1_000_000, 10);
        psi("12.50");
        MemoryPressure sample = new LinuxMemoryPressure(proc, 10.0, 0.05).sample();
        assertTrue(sample.low());
        assertEquals(10 * 1024, sample.availableBytes());
        assertEquals(50_000 * 1024, sample.marginBytes());
        psi("9.99");
        assertFalse(
                new LinuxMemoryPressure(proc, 10.0, 0.05).sample().low(), "little stall, even with little available");
    }

    @Test
    void memAvailableDecidesWithoutPsi() throws IOException {
        meminfo(1_000_000, 40_000);
        assertTrue(new LinuxMemoryPressure(proc, 10.0, 0.05).sample().low(), "40 MB available is below a 50 MB margin");
        meminfo(1_000_000, 60_000);
        assertFalse(new LinuxMemoryPressure(proc, 10.0, 0.05).sample().low());
    }

    @Test
    void brokenFilesSayWhatIsWrong() throws IOException {
        Files.writeString(proc.resolve("meminfo"), "MemTotal: 1000 kB\n");
        IOException e = assertThrows(IOException.class, () -> new LinuxMemoryPressure(proc, 10.0, 0.05).sample());
        assertTrue(e.getMessage().contains("no MemAvailable line"), e.getMessage());
        meminfo(1000, 10);
        psi("lots");
        e = assertThrows(IOException.class, () -> new LinuxMemoryPressure(proc, 10.0, 0.05).sample());
        assertTrue(e.getMessage().contains("bad avg10"), e.getMessage());
    }

    @Test
    void thisHostCanBeRead() throws IOException {
        MemoryPressure sample = LinuxMemoryPressure.system().sample();
        assertTrue(sample.availableBytes() > 0 && sample.marginBytes() > 0, sample.toString());
    }

    @Test
    void thresholdsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new LinuxMemoryPressure(proc, 0, 0.05));
        assertThrows(IllegalArgumentException.class, () -> new LinuxMemoryPressure(proc, 10, 1.5));
    }
}
