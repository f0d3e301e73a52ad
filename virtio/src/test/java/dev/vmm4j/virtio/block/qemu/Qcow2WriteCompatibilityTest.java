// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block.qemu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.virtio.block.Qcow2Image;
import dev.vmm4j.vmm.testing.ExternalCommand;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Images vmm4j writes pass {@code qemu-img check} with no errors and no leaks, and {@code qemu-img compare} finds
 * them equal to the data written; whoever made them (vmm4j's create, or qemu-img in its variants).
 */
@RequiresQemuImg
class Qcow2WriteCompatibilityTest {
    private static final int SIZE = 24 << 20;

    @TempDir
    Path dir;

    /** Random writes (and, on v3, discards) of every shape, mirrored in {@code model}. */
    private static void workload(Qcow2Image image, byte[] model, long seed, int operations, boolean discards)
            throws IOException {
        Random random = new Random(seed);
        for (int i = 0; i < operations; i++) {
            int length = switch (random.nextInt(4)) {
                case 0 -> 1 + random.nextInt(700);
                case 1 -> 4096;
                case 2 -> 65536;
                default -> 1 + random.nextInt(300_000);
            };
            int at = random.nextInt(model.length - length);
            if (discards && random.nextInt(8) == 0) {
                image.discard(at, length);
                long cluster = image.clusterSize();
                long first = (at + cluster - 1) & -cluster;
                long end = (at + (long) length) & -cluster;
                for (long c = first; c < end; c += cluster) {
                    Arrays.fill(model, (int) c, (int) (c + cluster), (byte) 0);
                }
                continue;
            }
            byte[] data = new byte[length];
            random.nextBytes(data);
            image.write(at, MemorySegment.ofArray(data));
            System.arraycopy(data, 0, model, at, length);
        }
        byte[] back = new byte[model.length];
        image.read(0, MemorySegment.ofArray(back));
        assertArrayEquals(model, back, "vmm4j reads back what it wrote");
        image.flush();
    }

    private void assertQemuAgrees(Path image, byte[] model) throws IOException {
        ExternalCommand.Result check = QemuImg.img("check", image);
        assertEquals(0, check.status(), "qemu-img check:\n" + check.out() + check.err());
        assertTrue(check.out().contains("No errors were found"), check.out());
        Path raw = Files.write(dir.resolve("model.raw"), model);
        QemuImg.img("compare", "-f", "raw", "-F", "qcow2", raw, image).expect(0);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(
            strings = {
                "compat=1.1",
                "compat=0.10",
                "compat=1.1,cluster_size=512",
                "compat=1.1,cluster_size=4096,refcount_bits=2",
                "compat=1.1,refcount_bits=64",
                "compat=1.1,cluster_size=2097152"
            })
    void imagesQemuMadeStayConsistent(String options) throws IOException {
        Path image = dir.resolve("qemu.qcow2");
        QemuImg.img("create", "-f", "qcow2", "-o", options, image, String.valueOf(SIZE))
                .expect(0);
        byte[] model = new byte[SIZE];
        try (Qcow2Image opened = Qcow2Image.open(image, false)) {
            workload(opened, model, options.hashCode(), 400, options.startsWith("compat=1.1"));
        }
        assertQemuAgrees(image, model);
    }

    @Test
    void imagesVmm4jCreatesAreQemuImages() throws IOException {
        Path image = dir.resolve("ours.qcow2");
        Qcow2Image.create(image, SIZE, null, null);
        ExternalCommand.Result info = QemuImg.img("info", image).expect(0);
        assertTrue(info.out().contains("virtual size: 24 MiB (25165824 bytes)"), info.out());
        assertTrue(info.out().contains("compat: 1.1"), info.out());
        QemuImg.img("check", image).expect(0);
        byte[] model = new byte[SIZE];
        try (Qcow2Image opened = Qcow2Image.open(image, false)) {
            workload(opened, model, 1, 500, true);
        }
        assertQemuAgrees(image, model);
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> Qcow2Image.create(image, SIZE, null, null));
    }

    @Test
    void overlaysCopyOnWriteFromTheirBackingFile() throws IOException {
        byte[] base = new byte[SIZE];
        new Random(3).nextBytes(base);
        Files.write(dir.resolve("base.raw"), base);
        Path image = dir.resolve("overlay.qcow2");
        Qcow2Image.create(image, SIZE, Path.of("base.raw"), "raw");
        byte[] model = base.clone();
        try (Qcow2Image opened = Qcow2Image.open(image, false)) {
            workload(opened, model, 2, 300, true);
        }
        assertQemuAgrees(image, model);
        assertArrayEquals(base, Files.readAllBytes(dir.resolve("base.raw")), "the backing file is never written");
    }

    @Test
    void compressedClustersAreRewrittenAndFreed() throws IOException {
        byte[] data = new byte[SIZE];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i / 1000);
        }
        Path raw = Files.write(dir.resolve("data.raw"), data);
        Path image = dir.resolve("compressed.qcow2");
        QemuImg.img("convert", "-c", "-f", "raw", "-O", "qcow2", raw, image).expect(0);
        byte[] model = data.clone();
        try (Qcow2Image opened = Qcow2Image.open(image, false)) {
            workload(opened, model, 4, 300, true);
        }
        assertQemuAgrees(image, model);
    }

    @Test
    void theRefcountTableGrowsWhenTheImageOutgrowsIt() throws IOException {
        // 512-byte clusters, 16-bit refcounts: qemu's one-cluster table covers 64 blocks of 256 clusters, 8 MiB.
        Path image = dir.resolve("grow.qcow2");
        QemuImg.img("create", "-f", "qcow2", "-o", "cluster_size=512", image, String.valueOf(SIZE))
                .expect(0);
        long tableBefore =
                java.nio.ByteBuffer.wrap(Files.readAllBytes(image), 48, 8).getLong();
        byte[] model = new byte[SIZE];
        new Random(8).nextBytes(model);
        try (Qcow2Image opened = Qcow2Image.open(image, false)) {
            for (int at = 0; at < SIZE; at += 1 << 20) {
                opened.write(at, MemorySegment.ofArray(model), at, 1 << 20);
            }
        }
        long tableAfter =
                java.nio.ByteBuffer.wrap(Files.readAllBytes(image), 48, 8).getLong();
        assertTrue(tableAfter != tableBefore, "the refcount table moved to a bigger place");
        assertQemuAgrees(image, model);
    }

    @Test
    void discardedClustersAreReused() throws IOException {
        Path image = dir.resolve("reuse.qcow2");
        Qcow2Image.create(image, SIZE, null, null);
        byte[] data = new byte[4 << 20];
        new Random(5).nextBytes(data);
        try (Qcow2Image opened = Qcow2Image.open(image, false)) {
            opened.write(0, MemorySegment.ofArray(data));
            long grown = Files.size(image);
            opened.discard(0, data.length);
            opened.write(8 << 20, MemorySegment.ofArray(data));
            assertEquals(grown, Files.size(image), "the second 4 MiB went where the first were");
            byte[] back = new byte[data.length];
            opened.read(0, MemorySegment.ofArray(back));
            assertArrayEquals(new byte[data.length], back, "discarded clusters read as zeros");
        }
        QemuImg.img("check", image).expect(0);
    }

    @Test
    void imagesWithInternalSnapshotsKeepTheSnapshot() throws IOException {
        Path image = dir.resolve("snap.qcow2");
        QemuImg.img("create", "-f", "qcow2", image, String.valueOf(SIZE)).expect(0);
        QemuImg.io("-c", "write -P 0x42 0 1M", image).expect(0);
        QemuImg.img("snapshot", "-c", "before", image).expect(0);
        byte[] model = new byte[SIZE];
        Arrays.fill(model, 0, 1 << 20, (byte) 0x42);
        try (Qcow2Image opened = Qcow2Image.open(image, false)) {
            workload(opened, model, 6, 200, false);
        }
        assertQemuAgrees(image, model);
        Path snapshot = dir.resolve("snapshot.raw");
        QemuImg.img("convert", "-l", "snapshot.name=before", "-O", "raw", image, snapshot)
                .expect(0);
        byte[] expected = new byte[SIZE];
        Arrays.fill(expected, 0, 1 << 20, (byte) 0x42);
        assertArrayEquals(expected, Files.readAllBytes(snapshot), "the snapshot still holds the old data");
    }
}
