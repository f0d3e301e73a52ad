// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import static dev.vmm4j.virtio.block.BlockLayout.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import dev.vmm4j.virtio.testing.DriverQueue.UsedElement;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** virtio-blk over a raw image, driven by the harness (virtio 1.2, 5.2). */
class BlockDeviceTest {
    private static final int SECTORS = 64;

    @TempDir
    Path dir;

    private Path image;
    private byte[] original;

    @BeforeEach
    void writeImage() throws IOException {
        original = new byte[SECTORS * SECTOR_SIZE];
        for (int i = 0; i < original.length; i++) {
            original[i] = (byte) (i * 7 + i / SECTOR_SIZE);
        }
        image = Files.write(dir.resolve("disk.img"), original);
    }

    /** A driver's request: header, data buffers and status, laid out as Linux does (one descriptor each). */
    private static final class Request {
        final long header;
        final long data;
        final long status;
        final int dataBytes;

        Request(DeviceHarness harness, int type, long sector, int dataBytes) throws GuestMemoryException {
            this.header = harness.allocate(HEADER_SIZE);
            this.data = harness.allocate(Math.max(dataBytes, 1));
            this.status = harness.allocate(1);
            this.dataBytes = dataBytes;
            harness.memory()
                    .writeFully(
                            header,
                            ByteBuffer.allocate(16)
                                    .order(ByteOrder.LITTLE_ENDIAN)
                                    .putInt(type)
                                    .putInt(0)
                                    .putLong(sector)
                                    .array());
            harness.memory().putByte(status, (byte) 0xff);
        }

        int submitRead(DriverQueue queue) {
            return queue.addChain(
                    Buffer.readable(header, HEADER_SIZE), Buffer.writable(data, dataBytes), Buffer.writable(status, 1));
        }

        int submitWrite(DriverQueue queue) {
            return queue.addChain(
                    Buffer.readable(header, HEADER_SIZE), Buffer.readable(data, dataBytes), Buffer.writable(status, 1));
        }

        int submitBare(DriverQueue queue) {
            return queue.addChain(Buffer.readable(header, HEADER_SIZE), Buffer.writable(status, 1));
        }

        int status(DeviceHarness harness) throws GuestMemoryException {
            return harness.memory().getByte(status) & 0xff;
        }

        byte[] data(DeviceHarness harness) throws GuestMemoryException {
            byte[] bytes = new byte[dataBytes];
            harness.memory().readFully(data, bytes);
            return bytes;
        }
    }

    private static void run(DeviceHarness harness) {
        harness.notifyQueue(0);
        harness.runUntilIdle();
        assertEquals(0, harness.loopErrors());
    }

    @Test
    void configHasCapacitySegMaxAndBlockSize() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(BlockDevice.openRaw(image, false))) {
            assertEquals(VirtioIds.BLOCK, harness.device().deviceType());
            assertEquals(SECTORS, harness.readConfig(CONFIG_CAPACITY, 8));
            assertEquals(SECTORS, harness.readConfig(CONFIG_CAPACITY, 4), "a 32-bit read of the low half");
            assertEquals(BlockDevice.QUEUE_SIZE - 2, harness.readConfig(CONFIG_SEG_MAX, 4));
            assertEquals(SECTOR_SIZE, harness.readConfig(CONFIG_BLK_SIZE, 4));
            assertEquals(0, harness.readConfig(200, 4), "past the fields: zeros");
            long features = harness.offeredFeatures();
            assertEquals(1L << VIRTIO_BLK_F_FLUSH, features & (1L << VIRTIO_BLK_F_FLUSH));
            assertEquals(0, features & (1L << VIRTIO_BLK_F_RO));
        }
    }

    @Test
    void readsSectors() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(BlockDevice.openRaw(image, false))) {
            DriverQueue queue = harness.activate().getFirst();
            Request read = new Request(harness, VIRTIO_BLK_T_IN, 3, 2 * SECTOR_SIZE);
            int head = read.submitRead(queue);
            run(harness);
            assertEquals(VIRTIO_BLK_S_OK, read.status(harness));
            assertEquals(new UsedElement(head, 2 * SECTOR_SIZE + 1), queue.used(0));
            assertArrayEquals(Arrays.copyOfRange(original, 3 * SECTOR_SIZE, 5 * SECTOR_SIZE), read.data(harness));
            assertEquals(1, harness.interruptCount());
        }
    }

    @Test
    void writesSectorsAndFlushes() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(BlockDevice.openRaw(image, false))) {
            DriverQueue queue = harness.activate().getFirst();
            Request write = new Request(harness, VIRTIO_BLK_T_OUT, 10, SECTOR_SIZE);
            byte[] payload = new byte[SECTOR_SIZE];
            Arrays.fill(payload, (byte) 0x5a);
            harness.memory().writeFully(write.data, payload);
            int head = write.submitWrite(queue);
            Request flush = new Request(harness, VIRTIO_BLK_T_FLUSH, 0, 0);
            flush.submitBare(queue);
            run(harness);
            assertEquals(new UsedElement(head, 1), queue.used(0));
            assertEquals(VIRTIO_BLK_S_OK, write.status(harness));
            assertEquals(VIRTIO_BLK_S_OK, flush.status(harness));
            byte[] expected = original.clone();
            Arrays.fill(expected, 10 * SECTOR_SIZE, 11 * SECTOR_SIZE, (byte) 0x5a);
            assertArrayEquals(expected, Files.readAllBytes(image));
        }
    }

    @Test
    void requestsSplitAnyWayAreServed() throws Exception {
        // 2.6.4: the device MUST NOT assume a particular arrangement of descriptors.
        try (DeviceHarness harness = DeviceHarness.create(BlockDevice.openRaw(image, false))) {
            DriverQueue queue = harness.activate().getFirst();
            long buffer = harness.allocate(HEADER_SIZE + SECTOR_SIZE + 1);
            harness.memory()
                    .writeFully(
                            buffer,
                            ByteBuffer.allocate(16)
                                    .order(ByteOrder.LITTLE_ENDIAN)
                                    .putInt(VIRTIO_BLK_T_IN)
                                    .putInt(0)
                                    .putLong(5)
                                    .array());
            // header in two pieces; data and status in one writable buffer split at odd offsets
            int head = queue.addChain(
                    Buffer.readable(buffer, 5),
                    Buffer.readable(buffer + 5, 11),
                    Buffer.writable(buffer + 16, 100),
                    Buffer.writable(buffer + 116, SECTOR_SIZE + 1 - 100));
            run(harness);
            assertEquals(new UsedElement(head, SECTOR_SIZE + 1), queue.used(0));
            byte[] data = new byte[SECTOR_SIZE];
            harness.memory().readFully(buffer + 16, data);
            assertArrayEquals(Arrays.copyOfRange(original, 5 * SECTOR_SIZE, 6 * SECTOR_SIZE), data);
            assertEquals(VIRTIO_BLK_S_OK, harness.memory().getByte(buffer + 16 + SECTOR_SIZE));
        }
    }

    @Test
    void indirectRequestsAreServed() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(BlockDevice.openRaw(image, false))) {
            DriverQueue queue = harness.activate().getFirst();
            Request read = new Request(harness, VIRTIO_BLK_T_IN, 0, SECTOR_SIZE);
            queue.addIndirectChain(
                    Buffer.readable(read.header, 16),
                    Buffer.writable(read.data, SECTOR_SIZE),
                    Buffer.writable(read.status, 1));
            run(harness);
            assertEquals(VIRTIO_BLK_S_OK, read.status(harness));
            assertArrayEquals(Arrays.copyOfRange(original, 0, SECTOR_SIZE), read.data(harness));
        }
    }

    @Test
    void getIdAnswersTheFileName() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(BlockDevice.openRaw(image, false))) {
            DriverQueue queue = harness.activate().getFirst();
            Request id = new Request(harness, VIRTIO_BLK_T_GET_ID, 0, ID_BYTES);
            int head = id.submitRead(queue);
            run(harness);
            assertEquals(VIRTIO_BLK_S_OK, id.status(harness));
            assertEquals(new UsedElement(head, ID_BYTES + 1), queue.used(0));
            byte[] expected = Arrays.copyOf("disk.img".getBytes(StandardCharsets.US_ASCII), ID_BYTES);
            assertArrayEquals(expected, id.data(harness));
        }
    }

    @Test
    void badRequestsGetIoErrOrUnsupp() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(BlockDevice.openRaw(image, false))) {
            DriverQueue queue = harness.activate().getFirst();
            Request pastEnd = new Request(harness, VIRTIO_BLK_T_IN, SECTORS - 1, 2 * SECTOR_SIZE);
            pastEnd.submitRead(queue);
            Request hugeSector = new Request(harness, VIRTIO_BLK_T_OUT, -1L, SECTOR_SIZE);
            hugeSector.submitWrite(queue);
            Request overflow = new Request(harness, VIRTIO_BLK_T_IN, Long.MAX_VALUE / 256, SECTOR_SIZE);
            overflow.submitRead(queue);
            Request unaligned = new Request(harness, VIRTIO_BLK_T_IN, 0, 100);
            unaligned.submitRead(queue);
            Request unknown = new Request(harness, 77, 0, 0);
            unknown.submitBare(queue);
            Request lastSector = new Request(harness, VIRTIO_BLK_T_IN, SECTORS - 1, SECTOR_SIZE);
            lastSector.submitRead(queue);
            run(harness);
            assertEquals(VIRTIO_BLK_S_IOERR, pastEnd.status(harness));
            assertEquals(VIRTIO_BLK_S_IOERR, hugeSector.status(harness));
            assertEquals(VIRTIO_BLK_S_IOERR, overflow.status(harness));
            assertEquals(VIRTIO_BLK_S_IOERR, unaligned.status(harness));
            assertEquals(VIRTIO_BLK_S_UNSUPP, unknown.status(harness));
            assertEquals(VIRTIO_BLK_S_OK, lastSector.status(harness));
            assertArrayEquals(original, Files.readAllBytes(image), "nothing was written");
        }
    }

    @Test
    void chainsWithoutHeaderOrStatusComeBackUnused() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(BlockDevice.openRaw(image, false))) {
            DriverQueue queue = harness.activate().getFirst();
            long buffer = harness.allocate(64);
            int shortHeader = queue.addChain(Buffer.readable(buffer, 8), Buffer.writable(buffer + 32, 1));
            int noStatus = queue.addChain(Buffer.readable(buffer, 16));
            run(harness);
            assertEquals(new UsedElement(shortHeader, 0), queue.used(0));
            assertEquals(new UsedElement(noStatus, 0), queue.used(1));
        }
    }

    @Test
    void readOnlyDiskRefusesWritesAndSaysSo() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(BlockDevice.openRaw(image, true))) {
            assertEquals(1L << VIRTIO_BLK_F_RO, harness.offeredFeatures() & (1L << VIRTIO_BLK_F_RO));
            DriverQueue queue = harness.activate().getFirst();
            Request write = new Request(harness, VIRTIO_BLK_T_OUT, 0, SECTOR_SIZE);
            write.submitWrite(queue);
            Request flush = new Request(harness, VIRTIO_BLK_T_FLUSH, 0, 0);
            flush.submitBare(queue);
            Request read = new Request(harness, VIRTIO_BLK_T_IN, 0, SECTOR_SIZE);
            read.submitRead(queue);
            run(harness);
            assertEquals(VIRTIO_BLK_S_IOERR, write.status(harness));
            assertEquals(VIRTIO_BLK_S_OK, flush.status(harness));
            assertEquals(VIRTIO_BLK_S_OK, read.status(harness));
            assertArrayEquals(original, Files.readAllBytes(image));
        }
    }

    @Test
    void aWritableImageIsLockedAgainstOtherUsers() throws Exception {
        try (BlockDevice writer = BlockDevice.openRaw(image, false)) {
            assertEquals(SECTORS, writer.capacitySectors());
            IOException second = assertThrows(IOException.class, () -> BlockDevice.openRaw(image, false));
            assertTrue(second.getMessage().contains("is in use"), second.getMessage());
            assertThrows(IOException.class, () -> BlockDevice.openRaw(image, true), "a reader waits for the writer");
        }
        try (BlockDevice reader = BlockDevice.openRaw(image, true);
                BlockDevice another = BlockDevice.openRaw(image, true)) {
            assertTrue(reader.image().isReadOnly() && another.image().isReadOnly(), "two readers share the image");
            assertThrows(IOException.class, () -> BlockDevice.openRaw(image, false), "a writer waits for the readers");
        }
        BlockDevice.openRaw(image, false).close(); // all released
    }

    @Test
    void missingImageSaysWhy() {
        IOException e = assertThrows(IOException.class, () -> BlockDevice.openRaw(dir.resolve("nope.img"), false));
        assertTrue(e.getMessage().contains("nope.img") && e.getMessage().contains("ENOENT"), e.getMessage());
    }

    @Test
    void partialLastSectorIsNotVisible() throws Exception {
        Path odd = Files.write(dir.resolve("odd.img"), new byte[3 * SECTOR_SIZE + 100]);
        try (BlockDevice device = BlockDevice.openRaw(odd, true)) {
            assertEquals(3, device.capacitySectors());
        }
    }

    @Test
    void qcow2DisksDiscardWholeClusters() throws Exception {
        Path qcow2 = dir.resolve("disk.qcow2");
        Qcow2Image.create(qcow2, 4 << 20, null, null);
        try (DeviceHarness harness = DeviceHarness.create(BlockDevice.open(qcow2, false))) {
            long features = harness.offeredFeatures();
            assertEquals(1L << VIRTIO_BLK_F_DISCARD, features & (1L << VIRTIO_BLK_F_DISCARD));
            assertEquals(MAX_DISCARD_SEGMENTS, harness.readConfig(CONFIG_MAX_DISCARD_SEG, 4));
            assertEquals(128, harness.readConfig(CONFIG_DISCARD_SECTOR_ALIGNMENT, 4), "64 KiB clusters");
            DriverQueue queue = harness.activate().getFirst();
            Request write = new Request(harness, VIRTIO_BLK_T_OUT, 0, 256 * 1024);
            byte[] payload = new byte[256 * 1024];
            Arrays.fill(payload, (byte) 0x77);
            harness.memory().writeFully(write.data, payload);
            write.submitWrite(queue);
            run(harness);
            assertEquals(VIRTIO_BLK_S_OK, write.status(harness));

            Request discard = new Request(harness, VIRTIO_BLK_T_DISCARD, 0, DISCARD_SEGMENT_SIZE);
            harness.memory()
                    .writeFully(
                            discard.data,
                            ByteBuffer.allocate(16)
                                    .order(ByteOrder.LITTLE_ENDIAN)
                                    .putLong(128)
                                    .putInt(256)
                                    .putInt(0)
                                    .array()); // sectors 128..383: the 2nd and 3rd clusters
            discard.submitWrite(queue);
            Request unmap = new Request(harness, VIRTIO_BLK_T_DISCARD, 0, DISCARD_SEGMENT_SIZE);
            harness.memory()
                    .writeFully(
                            unmap.data,
                            ByteBuffer.allocate(16)
                                    .order(ByteOrder.LITTLE_ENDIAN)
                                    .putLong(0)
                                    .putInt(1)
                                    .putInt(1)
                                    .array());
            unmap.submitWrite(queue);
            Request pastEnd = new Request(harness, VIRTIO_BLK_T_DISCARD, 0, DISCARD_SEGMENT_SIZE);
            harness.memory()
                    .writeFully(
                            pastEnd.data,
                            ByteBuffer.allocate(16)
                                    .order(ByteOrder.LITTLE_ENDIAN)
                                    .putLong(8190)
                                    .putInt(10)
                                    .putInt(0)
                                    .array());
            pastEnd.submitWrite(queue);
            Request read = new Request(harness, VIRTIO_BLK_T_IN, 0, 256 * 1024);
            read.submitRead(queue);
            run(harness);
            assertEquals(VIRTIO_BLK_S_OK, discard.status(harness));
            assertEquals(VIRTIO_BLK_S_UNSUPP, unmap.status(harness), "the unmap flag is for WRITE_ZEROES");
            assertEquals(VIRTIO_BLK_S_IOERR, pastEnd.status(harness));
            byte[] expected = payload.clone();
            Arrays.fill(expected, 65536, 3 * 65536, (byte) 0);
            assertArrayEquals(expected, read.data(harness));
        }
    }

    @Test
    void rawDisksDoNotOfferDiscard() throws Exception {
        try (DeviceHarness harness = DeviceHarness.create(BlockDevice.open(image, false))) {
            assertEquals(0, harness.offeredFeatures() & (1L << VIRTIO_BLK_F_DISCARD));
            DriverQueue queue = harness.activate().getFirst();
            Request discard = new Request(harness, VIRTIO_BLK_T_DISCARD, 0, DISCARD_SEGMENT_SIZE);
            discard.submitWrite(queue);
            run(harness);
            assertEquals(VIRTIO_BLK_S_UNSUPP, discard.status(harness));
        }
    }
}
