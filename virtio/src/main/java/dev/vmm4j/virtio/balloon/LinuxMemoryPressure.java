// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.balloon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The host's memory pressure from {@code /proc}: Linux's pressure stall information ({@code /proc/pressure/memory},
 * Linux 4.20+) says the host is short when tasks stalled on memory for at least {@code stallPercent} of the last 10
 * seconds ("some avg10"); without PSI, when MemAvailable falls below the margin. The margin is a fraction of
 * MemTotal. This stands in for the Chrome OS low-memory notifier that crosvm's policy listened to.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class LinuxMemoryPressure implements MemoryPressureSource {
    /** Stall share (percent of the last 10 s) above which the host counts as short of memory. */
    public static final double DEFAULT_STALL_PERCENT = 10.0;
    /** The share of MemTotal the host keeps available. */
    public static final double DEFAULT_MARGIN_FRACTION = 0.05;

    private final Path proc;
    private final double stallPercent;
    private final double marginFraction;

    /**
     * Reads {@code proc} (normally {@code /proc}) with the given thresholds.
     *
     * @param proc the procfs root, where {@code meminfo} and {@code pressure/memory} are read on each sample; a
     *     directory of fakes in tests
     * @param stallPercent the "some avg10" stall, in percent, at or above which the host is short; in (0, 100]
     * @param marginFraction the share of MemTotal to keep available, in [0, 1); without PSI, the host is short below it
     * @throws IllegalArgumentException if a threshold is out of its range
     */
    public LinuxMemoryPressure(Path proc, double stallPercent, double marginFraction) {
        Objects.requireNonNull(proc, "proc");
        if (!(stallPercent > 0 && stallPercent <= 100) || !(marginFraction >= 0 && marginFraction < 1)) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "stall percent must be in (0, 100] and margin fraction in [0, 1): %s, %s",
                    stallPercent,
                    marginFraction));
        }
        this.proc = proc;
        this.stallPercent = stallPercent;
        this.marginFraction = marginFraction;
    }

    /** {@return the host's pressure from {@code /proc}, with the default thresholds} */
    public static LinuxMemoryPressure system() {
        return new LinuxMemoryPressure(Path.of("/proc"), DEFAULT_STALL_PERCENT, DEFAULT_MARGIN_FRACTION);
    }

    @Override
    public MemoryPressure sample() throws IOException {
        List<String> meminfo = Files.readAllLines(proc.resolve("meminfo"));
        long total = meminfoBytes(meminfo, "MemTotal");
        long available = meminfoBytes(meminfo, "MemAvailable");
        long margin = (long) (total * marginFraction);
        Double stall = someAvg10();
        boolean low = stall != null ? stall >= stallPercent : available < margin;
        return new MemoryPressure(low, available, margin);
    }

    /** {@return "some avg10" of /proc/pressure/memory, or null without PSI (old kernel, or psi=0)} */
    private Double someAvg10() throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(proc.resolve("pressure/memory"));
        } catch (IOException e) {
            return null; // no PSI: an old kernel (no file) or psi=0 (reading fails with EOPNOTSUPP)
        }
        for (String line : lines) {
            if (line.startsWith("some ")) {
                for (String field : line.split(" ")) {
                    if (field.startsWith("avg10=")) {
                        try {
                            return Double.parseDouble(field.substring("avg10=".length()));
                        } catch (NumberFormatException e) {
                            throw new IOException("cannot read " + proc.resolve("pressure/memory") + ": bad avg10 in \""
                                    + line + "\"");
                        }
                    }
                }
            }
        }
        throw new IOException("cannot read " + proc.resolve("pressure/memory") + ": no \"some ... avg10=\" line");
    }

    private long meminfoBytes(List<String> meminfo, String key) throws IOException {
        for (String line : meminfo) {
            if (line.startsWith(key + ":")) {
                String[] parts = line.substring(key.length() + 1).trim().split("\\s+");
                try {
                    long value = Long.parseLong(parts[0]);
                    return parts.length > 1 && parts[1].equals("kB") ? value * 1024 : value;
                } catch (NumberFormatException e) {
                    throw new IOException(
                            "cannot read " + proc.resolve("meminfo") + ": bad " + key + " line \"" + line + "\"");
                }
            }
        }
        throw new IOException("cannot read " + proc.resolve("meminfo") + ": it has no " + key + " line");
    }

    @Override
    public String toString() {
        return "LinuxMemoryPressure[" + proc + ", stall >= " + stallPercent + "%, margin " + marginFraction
                + " of MemTotal]";
    }
}
