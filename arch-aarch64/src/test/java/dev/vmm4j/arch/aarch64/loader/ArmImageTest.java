// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The arm64 Image header, against Debian's arm64 kernel and against broken headers. */
class ArmImageTest {
    private static byte[] header(long textOffset, long imageSize, long flags, int magic) {
        return ByteBuffer.allocate(64)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(8, textOffset)
                .putLong(16, imageSize)
                .putLong(24, flags)
                .putInt(56, magic)
                .array();
    }

    private static String refusal(byte[] header, long fileSize) {
        return assertThrows(InvalidKernelException.class, () -> ArmImage.parse("Image", header, fileSize))
                .getMessage();
    }

    @Test
    void debiansArm64KernelParses() throws IOException {
        Path kernel = Path.of(System.getProperty("vmm4j.arm64TestKernel", ""));
        boolean present = Files.isRegularFile(kernel);
        if (!present && Boolean.getBoolean("vmm4j.requireTestKernel")) {
            throw new AssertionError(
                    "Debian's arm64 kernel is not at " + kernel + ": run scripts/fetch-arm64-test-kernel");
        }
        assumeTrue(
                present,
                "Debian's arm64 kernel is not at " + kernel + " (scripts/fetch-arm64-test-kernel downloads it)");
        byte[] start;
        try (InputStream in = Files.newInputStream(kernel)) {
            start = in.readNBytes(64);
        }
        ArmImage image = ArmImage.parse(kernel.toString(), start, Files.size(kernel));
        assertEquals(0, image.textOffset(), "text_offset 0 since Linux 5.10");
        assertTrue(image.imageSize() >= Files.size(kernel), "image_size covers the file and the BSS");
        assertEquals(4, image.pageSizeKiB());
        assertTrue(image.anywhere(), "modern kernels may sit at any 2 MiB-aligned base");
        assertEquals(0x8000_0000L, image.loadAddress(0x8000_0000L));
    }

    @Test
    void headerFieldsAreReadAndPlaced() {
        ArmImage image = ArmImage.parse("Image", header(0x80000, 0x200_0000, 0b0110, ArmImage.MAGIC), 0x100_0000);
        assertEquals(0x80000, image.textOffset());
        assertEquals(64, image.pageSizeKiB());
        assertEquals(0x8008_0000L, image.loadAddress(0x8000_0000L));
        assertEquals(0x8028_0000L, image.loadAddress(0x8000_1000L), "the base rounds up to 2 MiB");
        ArmImage legacy = ArmImage.parse("Image", header(0, 0, 0, ArmImage.MAGIC), 12345);
        assertEquals(0x80000, legacy.textOffset(), "image_size 0: a pre-3.17 kernel at 0x80000");
        assertEquals(12345, legacy.imageSize());
    }

    @Test
    void brokenHeadersSayWhatIsWrong() {
        assertTrue(refusal(header(0, 0x1000, 0, 0x12345678), 0x1000)
                .endsWith("is not an arm64 Image (no \"ARM\\x64\" magic at offset 56)"));
        assertTrue(refusal(header(0, 0x1000, 1, ArmImage.MAGIC), 0x1000).contains("big-endian"));
        assertTrue(refusal(header(0x123, 0x1000, 0, ArmImage.MAGIC), 0x1000).contains("text_offset 0x123"));
        assertTrue(refusal(header(0, 0x1000, 0, ArmImage.MAGIC), 0x2000)
                .contains("image_size 0x1000 is smaller than the file"));
        assertTrue(refusal(new byte[10], 10).contains("fewer than an arm64 Image header's 64"));
    }
}
