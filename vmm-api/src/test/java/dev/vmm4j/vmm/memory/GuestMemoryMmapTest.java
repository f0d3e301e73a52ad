// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestMemoryMmapTest {
    private static final long PAGE = GuestMemoryMmap.PAGE_SIZE;

    /** Two adjacent regions [0, 2 pages) and [2 pages, 3 pages), then a gap, then [0x10000, 0x11000). */
    private static GuestMemoryMmap threeRegions() {
        return GuestMemoryMmap.builder()
                .anonymous(0, 2 * PAGE)
                .memfd(2 * PAGE, PAGE, "test")
                .anonymous(0x10000, PAGE)
                .build();
    }

    @Test
    void regionsAreSortedAndSized() {
        try (GuestMemoryMmap memory = GuestMemoryMmap.builder()
                .anonymous(0x10000, PAGE)
                .anonymous(0, PAGE)
                .build()) {
            assertEquals(
                    List.of(0L, 0x10000L),
                    memory.regions().stream().map(GuestRegion::start).toList());
            assertEquals(2 * PAGE, memory.totalSize());
        }
    }

    @Test
    void accessesSpanAdjacentRegions() throws GuestMemoryException {
        try (GuestMemoryMmap memory = threeRegions()) {
            long boundary = 2 * PAGE;
            memory.putLong(boundary - 4, 0x1122_3344_5566_7788L);
            assertEquals(0x1122_3344_5566_7788L, memory.getLong(boundary - 4));
            assertEquals(0x5566_7788, memory.getInt(boundary - 4), "little-endian");
            byte[] data = new byte[100];
            fillWithCounter(data);
            memory.writeFully(boundary - 50, data);
            byte[] back = new byte[100];
            memory.readFully(boundary - 50, back);
            assertArrayEquals(data, back);
            List<MemorySegment> slices = memory.slices(boundary - 50, 100);
            assertEquals(2, slices.size());
            assertEquals(50, slices.get(0).byteSize());
        }
    }

    @Test
    void oneBytePastARegionFails() {
        try (GuestMemoryMmap memory = threeRegions()) {
            long end = 0x11000;
            GuestMemoryException.InvalidAddress e =
                    assertThrows(GuestMemoryException.InvalidAddress.class, () -> memory.getByte(end));
            assertEquals("guest memory has no byte at 0x11000 (access of 1 bytes at 0x11000)", e.getMessage());
            assertThrows(GuestMemoryException.class, () -> memory.getInt(end - 3));
            assertThrows(GuestMemoryException.class, () -> memory.putShort(end - 1, (short) 1));
            assertFalse(memory.isValidRange(end - 1, 2));
            assertTrue(memory.isValidRange(end - 1, 1));
        }
    }

    @Test
    void aGapStopsPartialCopiesAndFailsFullOnes() throws GuestMemoryException {
        try (GuestMemoryMmap memory = threeRegions()) {
            long gapStart = 3 * PAGE;
            MemorySegment buffer = MemorySegment.ofArray(new byte[64]);
            assertEquals(16, memory.write(gapStart - 16, buffer));
            GuestMemoryException.PartialAccess e = assertThrows(
                    GuestMemoryException.PartialAccess.class, () -> memory.readFully(gapStart - 16, buffer));
            assertEquals(16, e.completed());
            assertEquals("only 16 of 64 bytes at 0x2ff0 could be accessed: no guest memory at 0x3000", e.getMessage());
            assertThrows(GuestMemoryException.InvalidAddress.class, () -> memory.read(gapStart, buffer));
        }
    }

    @Test
    void regionAtTheTopOfTheAddressSpace() throws GuestMemoryException {
        long top = -PAGE; // 0xffff_ffff_ffff_f000
        try (GuestMemoryMmap memory = GuestMemoryMmap.builder()
                .anonymous(top, PAGE)
                .anonymous(0, PAGE)
                .build()) {
            assertEquals(
                    List.of(0L, top),
                    memory.regions().stream().map(GuestRegion::start).toList(),
                    "unsigned order");
            memory.putByte(-1L, (byte) 7);
            assertEquals(7, memory.getByte(-1L));
            assertTrue(memory.isValidRange(top, PAGE));
            GuestMemoryException.AddressOverflow e =
                    assertThrows(GuestMemoryException.AddressOverflow.class, () -> memory.getShort(-1L));
            assertEquals(
                    "access of 2 bytes at 0xffffffffffffffff runs past the end of the 64-bit address space",
                    e.getMessage());
            assertThrows(GuestMemoryException.AddressOverflow.class, () -> memory.readFully(-8, new byte[16]));
            assertFalse(memory.isValidRange(-1L, 2));
            assertThrows(GuestMemoryException.AddressOverflow.class, () -> memory.slice(0, -1L));
        }
    }

    @Test
    void atomicsNeedNaturalAlignment() throws GuestMemoryException {
        try (GuestMemoryMmap memory = threeRegions()) {
            memory.putShortRelease(0x10, (short) 0x1234);
            assertEquals(0x1234, memory.getShortAcquire(0x10));
            memory.putIntVolatile(0x20, 5);
            assertTrue(memory.compareAndSetInt(0x20, 5, 6));
            assertFalse(memory.compareAndSetInt(0x20, 5, 7));
            assertEquals(6, memory.getIntAcquire(0x20));
            memory.putLongRelease(0x28, -2L);
            assertEquals(-2L, memory.getLongAcquire(0x28));
            GuestMemoryException.Misaligned e =
                    assertThrows(GuestMemoryException.Misaligned.class, () -> memory.getIntAcquire(0x22));
            assertEquals("atomic access of 4 bytes at 0x22 is not 4-byte aligned", e.getMessage());
            assertThrows(GuestMemoryException.InvalidAddress.class, () -> memory.getShortAcquire(0x20000));
        }
    }

    @Test
    void sliceMustLieInOneRegion() throws GuestMemoryException {
        try (GuestMemoryMmap memory = threeRegions()) {
            MemorySegment slice = memory.slice(0x100, 16);
            slice.set(ValueLayout.JAVA_BYTE, 0, (byte) 9);
            assertEquals(9, memory.getByte(0x100), "a slice is a view, not a copy");
            assertThrows(GuestMemoryException.PartialAccess.class, () -> memory.slice(2 * PAGE - 8, 16));
            assertThrows(GuestMemoryException.InvalidAddress.class, () -> memory.slice(3 * PAGE - 8, 16));
        }
    }

    @Test
    void byteBuffersAdvanceTheirPosition() throws GuestMemoryException {
        try (GuestMemoryMmap memory = threeRegions()) {
            ByteBuffer src = ByteBuffer.wrap(new byte[] {1, 2, 3, 4});
            memory.writeFully(0x40, src);
            assertEquals(4, src.position());
            ByteBuffer dst = ByteBuffer.allocateDirect(4);
            memory.readFully(0x40, dst);
            assertEquals(4, dst.position());
            assertEquals(
                    0x04030201,
                    dst.flip().order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt());
        }
    }

    @Test
    void filesCopyStraightIntoAndOutOfGuestMemory(@TempDir Path dir) throws IOException, GuestMemoryException {
        Path file = dir.resolve("disk");
        byte[] content = new byte[(int) (3 * PAGE)];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i % 251);
        }
        Files.write(file, content);
        try (GuestMemoryMmap memory = threeRegions();
                FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long gpa = 2 * PAGE - 100; // spans the two adjacent regions
            assertEquals(PAGE, memory.readFrom(channel, 10, gpa, PAGE));
            byte[] back = new byte[(int) PAGE];
            memory.readFully(gpa, back);
            assertArrayEquals(java.util.Arrays.copyOfRange(content, 10, 10 + (int) PAGE), back);
            assertEquals(20, memory.readFrom(channel, content.length - 20, 0, 100), "a short read at end of file");

            memory.putLong(0x500, 0x0807_0605_0403_0201L);
            memory.writeTo(channel, 0, 0x500, 8);
            ByteBuffer head = ByteBuffer.allocate(8);
            channel.read(head, 0);
            assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, head.array());
            assertThrows(GuestMemoryException.class, () -> memory.readFrom(channel, 0, 3 * PAGE - 8, 16));
        }
    }

    @Test
    void fileBackedRegionWritesReachTheFile(@TempDir Path dir) throws IOException, GuestMemoryException {
        Path file = dir.resolve("ram");
        Files.write(file, new byte[(int) (2 * PAGE)]);
        try (GuestMemoryMmap memory =
                GuestMemoryMmap.builder().file(0x1000, file, PAGE, PAGE).build()) {
            memory.putInt(0x1000, 0xdeadbeef);
        }
        byte[] bytes = Files.readAllBytes(file);
        assertEquals((byte) 0xef, bytes[(int) PAGE]);
        assertEquals((byte) 0xde, bytes[(int) PAGE + 3]);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> GuestMemoryMmap.builder().file(0, file, PAGE, 2 * PAGE).build());
        assertTrue(e.getMessage().contains("needs 12288"), e.getMessage());
    }

    @Test
    void discardGivesAnonymousAndMemfdPagesBackButKeepsFiles(@TempDir Path dir)
            throws IOException, GuestMemoryException {
        Path file = Files.write(dir.resolve("ram"), new byte[(int) PAGE]);
        try (GuestMemoryMmap memory = GuestMemoryMmap.builder()
                .anonymous(0, 2 * PAGE)
                .memfd(2 * PAGE, PAGE, "discard")
                .file(0x10000, file, 0, PAGE)
                .build()) {
            for (long page : new long[] {0, PAGE, 2 * PAGE, 0x10000}) {
                memory.putLong(page, 0x1122_3344_5566_7788L);
            }
            assertEquals(2 * PAGE, memory.discard(PAGE, 2 * PAGE), "an anonymous page and the memfd page after it");
            assertEquals(0, memory.discard(0x10000, PAGE), "a file's pages are its owner's data");
            assertEquals(0x1122_3344_5566_7788L, memory.getLong(0), "the page before the range is untouched");
            assertEquals(0, memory.getLong(PAGE), "a discarded anonymous page reads as zero");
            assertEquals(0, memory.getLong(2 * PAGE), "a discarded memfd page reads as zero");
            assertEquals(0x1122_3344_5566_7788L, memory.getLong(0x10000));
            assertThrows(IllegalArgumentException.class, () -> memory.discard(100, PAGE), "not page-aligned");
            assertThrows(GuestMemoryException.class, () -> memory.discard(3 * PAGE, PAGE), "the gap after the memfd");
        }
    }

    @Test
    void builderRejectsOverlapZeroLengthMisalignmentAndWrapping() {
        IllegalArgumentException overlap = assertThrows(
                IllegalArgumentException.class,
                () -> GuestMemoryMmap.builder().anonymous(0, 2 * PAGE).anonymous(PAGE, PAGE));
        assertEquals("region [0x1000, 0x1fff] overlaps region [0x0, 0x1fff]", overlap.getMessage());
        assertThrows(
                IllegalArgumentException.class, () -> GuestMemoryMmap.builder().anonymous(0, 0));
        assertThrows(
                IllegalArgumentException.class, () -> GuestMemoryMmap.builder().anonymous(0, 100));
        assertThrows(
                IllegalArgumentException.class, () -> GuestMemoryMmap.builder().anonymous(0x800, PAGE));
        assertThrows(
                IllegalArgumentException.class, () -> GuestMemoryMmap.builder().anonymous(-PAGE, 2 * PAGE));
        assertThrows(
                IllegalStateException.class, () -> GuestMemoryMmap.builder().build());
    }

    @Test
    void zeroLengthAccessesTouchNothingAndSucceed() throws GuestMemoryException {
        try (GuestMemoryMmap memory = threeRegions()) {
            memory.readFully(0x5000_0000L, new byte[0]);
            assertTrue(memory.isValidRange(-1L, 0));
            assertEquals(0, memory.slices(0x100, 0).size());
        }
    }

    private static void fillWithCounter(byte[] data) {
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i + 1);
        }
    }
}
