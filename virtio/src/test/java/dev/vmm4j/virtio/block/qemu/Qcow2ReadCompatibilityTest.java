// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block.qemu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.vmm4j.virtio.block.DiskImage;
import dev.vmm4j.virtio.block.DiskImages;
import dev.vmm4j.virtio.block.Qcow2Image;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Images qemu-img makes read back byte for byte as {@code qemu-img convert -O raw} reads them. */
@RequiresQemuImg
class Qcow2ReadCompatibilityTest {
    private static final int SIZE = 3 << 20;

    @TempDir
    Path dir;

    /** 3 MiB with random runs, zero runs and a partial last cluster's worth of data. */
    private Path rawData() throws IOException {
        byte[] data = new byte[SIZE];
        Random random = new Random(7);
        for (int at = 0; at < SIZE; ) {
            int run = 512 * (1 + random.nextInt(300));
            if (random.nextInt(3) != 0) {
                byte[] bytes = new byte[Math.min(run, SIZE - at)];
                random.nextBytes(bytes);
                System.arraycopy(bytes, 0, data, at, bytes.length);
            }
            at += run;
        }
        return Files.write(dir.resolve("data.raw"), data);
    }

    private byte[] qemuRaw(Path image) throws IOException {
        Path raw = dir.resolve("expected-" + image.getFileName() + ".raw");
        QemuImg.img("convert", "-O", "raw", image, raw).expect(0);
        return Files.readAllBytes(raw);
    }

    private static byte[] readAll(DiskImage image) throws IOException {
        byte[] bytes = new byte[(int) image.sizeBytes()];
        // In uneven pieces, so reads start and end inside clusters.
        int at = 0;
        int piece = 1;
        while (at < bytes.length) {
            int n = Math.min(bytes.length - at, 1000 * piece++);
            image.read(at, MemorySegment.ofArray(bytes), at, n);
            at += n;
        }
        return bytes;
    }

    @ParameterizedTest(name = "compat={0} cluster_size={1} refcount_bits={2}")
    @CsvSource({"0.10, 65536, 16", "1.1, 65536, 16", "1.1, 512, 1", "1.1, 4096, 64", "1.1, 2097152, 8", "0.10, 4096, 16"
    })
    void convertedImagesReadBack(String compat, int clusterSize, int refcountBits) throws IOException {
        Path raw = rawData();
        Path image = dir.resolve("image.qcow2");
        QemuImg.img(
                        "convert",
                        "-f",
                        "raw",
                        "-O",
                        "qcow2",
                        "-o",
                        "compat=" + compat + ",cluster_size=" + clusterSize
                                + (compat.equals("0.10") ? "" : ",refcount_bits=" + refcountBits),
                        raw,
                        image)
                .expect(0);
        try (DiskImage opened = DiskImages.open(image, true)) {
            assertInstanceOf(Qcow2Image.class, opened);
            assertEquals(SIZE, opened.sizeBytes());
            assertArrayEquals(Files.readAllBytes(raw), readAll(opened));
        }
    }

    @Test
    void compressedImagesReadBack() throws IOException {
        Path raw = rawData();
        Path image = dir.resolve("compressed.qcow2");
        QemuImg.img("convert", "-c", "-f", "raw", "-O", "qcow2", raw, image).expect(0);
        try (DiskImage opened = Qcow2Image.open(image, true)) {
            assertArrayEquals(Files.readAllBytes(raw), readAll(opened));
        }
    }

    @Test
    void backingFilesZeroClustersAndOverlaysReadBack() throws IOException {
        Path base = rawData();
        Path middle = dir.resolve("middle.qcow2");
        Path top = dir.resolve("top.qcow2");
        QemuImg.img("create", "-f", "qcow2", "-b", "data.raw", "-F", "raw", middle)
                .expect(0);
        QemuImg.io("-c", "write -P 0xab 64k 8k", "-c", "write -z 1M 128k", "-c", "write -P 0x11 2047k 4k", middle)
                .expect(0);
        QemuImg.img("create", "-f", "qcow2", "-o", "compat=0.10", "-b", middle.getFileName(), "-F", "qcow2", top)
                .expect(0);
        QemuImg.io("-c", "write -P 0x5c 100k 3k", top).expect(0);
        try (DiskImage opened = DiskImages.open(top, true)) {
            assertArrayEquals(qemuRaw(top), readAll(opened));
        }
        // A bigger overlay than its backing file: past the backing file's end it reads zeros.
        Path big = dir.resolve("big.qcow2");
        QemuImg.img("create", "-f", "qcow2", "-b", base, "-F", "raw", big, String.valueOf(2 * SIZE))
                .expect(0);
        try (DiskImage opened = DiskImages.open(big, true)) {
            assertArrayEquals(qemuRaw(big), readAll(opened));
        }
        assertEquals(0, Files.size(base) - SIZE, "backing files are only read");
    }
}
