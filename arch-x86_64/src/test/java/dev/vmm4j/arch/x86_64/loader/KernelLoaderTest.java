// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.vmm.memory.GuestMemoryException;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelLoaderTest {
    private final GuestMemoryMmap memory =
            GuestMemoryMmap.builder().anonymous(0, 64L << 20).build();

    @AfterEach
    void close() {
        memory.close();
    }

    private LoadedKernel load(byte[] image, KernelLoader.Decompression decompression) throws InvalidKernelException {
        return KernelLoader.load(MemorySegment.ofArray(image), memory, decompression, "test kernel");
    }

    private void assertVmlinuxLoaded(LoadedKernel kernel) throws GuestMemoryException {
        assertEquals(TestImages.TEXT_ADDRESS, kernel.entry());
        assertEquals(TestImages.TEXT_ADDRESS, kernel.start());
        assertEquals(TestImages.DATA_ADDRESS + TestImages.DATA_MEMSZ, kernel.end());
        byte[] text = new byte[TestImages.TEXT.length];
        memory.readFully(TestImages.TEXT_ADDRESS, text);
        assertArrayEquals(TestImages.TEXT, text);
        assertEquals(4, memory.getByte(TestImages.DATA_ADDRESS + 3));
        assertEquals(0, memory.getLong(TestImages.DATA_ADDRESS + TestImages.DATA_MEMSZ - 8), ".bss is zero");
    }

    @Test
    void elfVmlinuxLoadsAtItsPhysicalAddressesAndZeroesBss() throws Exception {
        memory.putLong(TestImages.DATA_ADDRESS + 0x100, -1L); // garbage where .bss goes
        LoadedKernel kernel = load(TestImages.elf(), KernelLoader.Decompression.GUEST);
        assertVmlinuxLoaded(kernel);
        assertTrue(kernel.setupHeader().isEmpty());
    }

    @Test
    void bzImageWithGzipOrXzPayloadIsDecompressedOnTheHost() throws Exception {
        for (byte[] payload : new byte[][] {TestImages.gzip(TestImages.elf()), TestImages.xz(TestImages.elf())}) {
            LoadedKernel kernel = load(TestImages.bzImage(payload), KernelLoader.Decompression.HOST);
            assertVmlinuxLoaded(kernel);
            byte[] header = kernel.setupHeader().orElseThrow();
            assertEquals(0x26c - 0x1f1, header.length, "the header runs to where the jump lands");
            assertEquals(2, header[0], "setup_sects first");
        }
    }

    @Test
    void bzImageBootedTheProtocolWayLandsAtItsPreferredAddress() throws Exception {
        byte[] image = TestImages.bzImage(TestImages.gzip(TestImages.elf()));
        LoadedKernel kernel = load(image, KernelLoader.Decompression.GUEST);
        assertEquals(TestImages.TEXT_ADDRESS + 0x200, kernel.entry(), "64-bit entry is 0x200 into the code");
        assertEquals(TestImages.TEXT_ADDRESS + 0x40_0000, kernel.end(), "init_size is reserved for the decompressor");
        assertEquals(image[3 * 512], memory.getByte(TestImages.TEXT_ADDRESS));
    }

    @Test
    void kernelThatNeedsMoreMemoryThanTheGuestHasSaysSo() {
        byte[] image = TestImages.bzImage(TestImages.gzip(TestImages.elf()));
        ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).putInt(0x260, 0x1000_0000); // init_size 256 MiB
        InvalidKernelException e =
                assertThrows(InvalidKernelException.class, () -> load(image, KernelLoader.Decompression.GUEST));
        assertTrue(e.getMessage().contains("decompresses itself in 256 MiB from 0x1000000"), e.getMessage());
    }

    @Test
    void malformedImagesGetClearErrors() {
        assertMessage(new byte[10], "it is neither an ELF vmlinux nor a bzImage");
        byte[] elf = TestImages.elf();
        elf[18] = 40; // EM_ARM
        assertMessage(elf, "it is built for ELF machine 40, not x86-64 (62)");
        byte[] truncated = java.util.Arrays.copyOf(TestImages.elf(), 100);
        assertMessage(truncated, "run past the end of the 100-byte file");
        byte[] oldProtocol = TestImages.bzImage(new byte[16]);
        oldProtocol[0x206] = 0x0b;
        assertMessage(oldProtocol, "it speaks boot protocol 2.11; vmm4j needs 2.12 or later");
        byte[] thirtyTwoBit = TestImages.bzImage(new byte[16]);
        thirtyTwoBit[0x236] = 0;
        assertMessage(thirtyTwoBit, "it has no 64-bit entry point");
        byte[] bzip2 = TestImages.bzImage("BZh91AY&SY".getBytes());
        assertMessage(bzip2, "it is bzip2; vmm4j decompresses gzip and xz", KernelLoader.Decompression.HOST);
        byte[] corrupt = TestImages.bzImage(new byte[] {0x1f, (byte) 0x8b, 8, 0, 1, 2, 3});
        assertMessage(corrupt, "the gzip payload of test kernel is corrupt", KernelLoader.Decompression.HOST);
        byte[] notElf = TestImages.bzImage(TestImages.gzip("just text".getBytes()));
        assertMessage(notElf, "its payload does not decompress to an ELF vmlinux", KernelLoader.Decompression.HOST);
    }

    @Test
    void segmentOutsideGuestMemoryIsRefusedBeforeAnythingIsWritten() throws Exception {
        byte[] elf = TestImages.elf();
        ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN).putLong(64 + 56 + 24, 0x8000_0000L); // data paddr at 2 GiB
        InvalidKernelException e =
                assertThrows(InvalidKernelException.class, () -> load(elf, KernelLoader.Decompression.HOST));
        assertTrue(
                e.getMessage()
                        .contains(
                                "segment 1 at guest address 0x80000000 of 0x2000 bytes lies outside guest memory (64 MiB)"),
                e.getMessage());
        assertEquals(0, memory.getByte(TestImages.TEXT_ADDRESS), "segment 0 was not copied either");
    }

    @Test
    void initrdGoesAsHighAsAllowedAndPageAligned(@TempDir Path dir) throws Exception {
        Path initrd = Files.write(dir.resolve("initrd"), new byte[10_000]);
        Initrd.Placement placement = Initrd.load(initrd, memory, 0x200_0000, 0x300_0000);
        assertEquals((0x300_0000 - 10_000) & -4096L, placement.address());
        assertEquals(10_000, placement.size());
        InvalidKernelException tooBig =
                assertThrows(InvalidKernelException.class, () -> Initrd.load(initrd, memory, 0x2ff_f000, 0x300_0000));
        assertTrue(
                tooBig.getMessage()
                        .contains("does not fit in guest RAM between the kernel's end 0x2fff000 and 0x3000000"),
                tooBig.getMessage());
        Path empty = Files.write(dir.resolve("empty"), new byte[0]);
        assertThrows(InvalidKernelException.class, () -> Initrd.load(empty, memory, 0, 0x300_0000));
    }

    @Test
    void kernelFilesAreReadFromDisk(@TempDir Path dir)
            throws IOException, InvalidKernelException, GuestMemoryException {
        Path file = Files.write(dir.resolve("vmlinux"), TestImages.elf());
        assertVmlinuxLoaded(KernelLoader.load(file, memory, KernelLoader.Decompression.HOST));
    }

    private void assertMessage(byte[] image, String expected) {
        assertMessage(image, expected, KernelLoader.Decompression.GUEST);
    }

    private void assertMessage(byte[] image, String expected, KernelLoader.Decompression decompression) {
        InvalidKernelException e = assertThrows(InvalidKernelException.class, () -> load(image, decompression));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
