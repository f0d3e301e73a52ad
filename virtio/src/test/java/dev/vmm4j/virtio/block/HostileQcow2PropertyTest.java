// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.statistics.Statistics;

/**
 * Corrupted qcow2 images: random header fields, L1, L2 and refcount entries pointing outside the file, at metadata or
 * at nothing, sizes out of range, random bytes in the metadata, backing chains that loop. Opening, reading and writing
 * either work or fail with an {@link InvalidImageException} (or the I/O error it wraps); never another exception,
 * never an OutOfMemoryError or an endless loop, and never a write to any file but the image (its backing file stays
 * as it was) or much beyond what was written.
 */
class HostileQcow2PropertyTest {
    private static final long SIZE = 2 << 20;
    /** Header fields: offset and width. */
    private static final int[][] FIELDS = {
        {4, 4}, {8, 8}, {16, 4}, {20, 4}, {24, 8}, {32, 4}, {36, 4}, {40, 8}, {48, 8}, {56, 4}, {60, 4}, {64, 8},
        {72, 8}, {80, 8}, {88, 8}, {96, 4}, {100, 4}
    };

    @Property(tries = 1_000)
    void corruptImagesFailCleanly(@ForAll long seed) throws Exception {
        Path dir = Files.createTempDirectory("vmm4j-hostile-qcow2");
        try {
            Statistics.collect(
                    assertTimeoutPreemptively(Duration.ofSeconds(20), () -> run(dir, new SplittableRandom(seed))));
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(file);
                }
            }
        }
    }

    /** {@return how it went: "worked", or why the image was refused} */
    private static String run(Path dir, SplittableRandom random) throws IOException {
        byte[] base = new byte[(int) SIZE];
        random.nextBytes(base);
        Path backing = Files.write(dir.resolve("base.raw"), base);
        Path image = dir.resolve("image.qcow2");
        boolean withBacking = random.nextBoolean();
        Qcow2Image.create(image, SIZE, withBacking ? Path.of("base.raw") : null, "raw");
        try (Qcow2Image opened = Qcow2Image.open(image, false)) {
            for (int i = 0; i < 6; i++) {
                byte[] data = new byte[1 + random.nextInt(100_000)];
                random.nextBytes(data);
                opened.write(random.nextLong(SIZE - data.length), MemorySegment.ofArray(data));
            }
        }
        if (random.nextInt(10) == 0) {
            // A loop: the backing file is the image itself.
            corrupt(image, random, true);
        } else {
            for (int m = 0, mutations = 1 + random.nextInt(4); m < mutations; m++) {
                corrupt(image, random, false);
            }
        }
        long sizeBefore = Files.size(image);
        String outcome;
        long written = 0;
        boolean readOnly = random.nextBoolean();
        try (Qcow2Image opened = Qcow2Image.open(image, readOnly)) {
            long size = opened.sizeBytes();
            for (int i = 0; i < 8 && size > 0; i++) {
                int length = (int) Math.min(size, 1 + random.nextInt(100_000));
                long at = random.nextLong(size - length + 1);
                byte[] data = new byte[length];
                if (!readOnly && random.nextBoolean()) {
                    random.nextBytes(data);
                    opened.write(at, MemorySegment.ofArray(data));
                    written += length;
                } else if (!readOnly && random.nextInt(4) == 0) {
                    opened.discard(at, length);
                } else {
                    opened.read(at, MemorySegment.ofArray(data));
                }
            }
            opened.flush();
            outcome = "worked";
        } catch (InvalidImageException expected) {
            assertTrue(expected.getMessage().startsWith("disk image "), expected.getMessage());
            outcome = "refused";
        }
        assertArrayEquals(base, Files.readAllBytes(backing), "the backing file was written");
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.allMatch(p -> p.equals(image) || p.equals(backing)), "a file appeared");
        }
        // Writes may allocate data clusters, an L2 table per cluster written and refcount metadata; nothing more.
        long limit = sizeBefore + 3 * (written + 64L * 65536) + (8 << 20);
        assertTrue(Files.size(image) <= limit, "the image grew from " + sizeBefore + " to " + Files.size(image));
        return outcome;
    }

    /** One random corruption of {@code image}'s metadata. */
    private static void corrupt(Path image, SplittableRandom random, boolean loop) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            byte[] header = new byte[112];
            file.readFully(header);
            ByteBuffer h = ByteBuffer.wrap(header);
            if (loop) {
                byte[] name = "image.qcow2".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                file.seek(h.getLong(8));
                file.write(name);
                file.seek(16);
                file.writeInt(name.length);
                return;
            }
            long clusterSize = 1L << Math.min(21, Math.max(9, h.getInt(20)));
            long l1 = h.getLong(40);
            long refcountTable = h.getLong(48);
            int kind = random.nextInt(6);
            if (kind == 0) { // a header field, with a value of its width
                int[] field = FIELDS[random.nextInt(FIELDS.length)];
                long value = nasty(random, file.length(), clusterSize);
                file.seek(field[0]);
                for (int i = field[1] - 1; i >= 0; i--) {
                    file.write((int) (value >>> (8 * i)));
                }
                return;
            }
            // The tables' offsets come from a header that earlier mutations may have made nonsense: only aim inside the
            // file.
            long target = switch (kind) {
                case 1 -> l1 + 8L * random.nextInt(4);
                case 2 -> refcountTable + 8L * random.nextInt(4);
                case 3 -> firstEntry(file, l1) + 8L * random.nextInt((int) (clusterSize / 8)); // an L2 entry
                case 4 -> firstEntry(file, refcountTable) + 2L * random.nextInt(64); // a refcount
                default -> random.nextLong(Math.min(file.length(), 4 * clusterSize)); // any metadata byte
            };
            if (target <= 0 || target > file.length() - 8) {
                return;
            }
            file.seek(target);
            file.writeLong(nasty(random, file.length(), clusterSize));
        }
    }

    private static long firstEntry(RandomAccessFile file, long table) throws IOException {
        if (table <= 0 || table + 8 > file.length()) {
            return -1;
        }
        file.seek(table);
        return file.readLong() & Qcow2Image.OFFSET_MASK;
    }

    /** Values that break things: zero, all ones, just past the file, misaligned, the header, flags. */
    private static long nasty(SplittableRandom random, long fileSize, long clusterSize) {
        return switch (random.nextInt(9)) {
            case 0 -> 0;
            case 1 -> -1;
            case 2 -> fileSize;
            case 3 -> fileSize - 8;
            case 4 -> clusterSize + 8;
            case 5 -> Qcow2Image.COPIED;
            case 6 -> Qcow2Image.COMPRESSED | random.nextLong(1L << 40);
            case 7 -> random.nextLong();
            default -> random.nextLong(fileSize) & ~(clusterSize - 1) | (random.nextBoolean() ? Qcow2Image.COPIED : 0);
        };
    }
}
