// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import static dev.vmm4j.virtio.block.BlockLayout.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Random block requests (types, sectors, lengths, descriptor splits, read-only or not) checked against a model of
 * virtio 1.2, 5.2.6: the status byte, the used length, the data the guest gets and the image's contents after every
 * request must be what the model says, and nothing may escape the device.
 */
class BlockRequestPropertyTest {
    private static final int SECTORS = 16;

    @Property(tries = 2_000)
    void requestsMatchTheModel(@ForAll long seed, @ForAll boolean readOnly) throws Exception {
        SplittableRandom random = new SplittableRandom(seed);
        byte[] model = new byte[SECTORS * SECTOR_SIZE];
        random.nextBytes(model);
        Path image = Files.createTempFile("vmm4j-block-property", ".img");
        try {
            Files.write(image, model);
            try (DeviceHarness harness = DeviceHarness.create(BlockDevice.openRaw(image, readOnly))) {
                DriverQueue queue = harness.activate().getFirst();
                for (int request = 0; request < 4; request++) {
                    check(harness, queue, random, model, readOnly);
                }
                assertEquals(0, harness.loopErrors());
            }
            assertArrayEquals(model, Files.readAllBytes(image), "seed " + seed);
        } finally {
            Files.delete(image);
        }
    }

    private static void check(
            DeviceHarness harness, DriverQueue queue, SplittableRandom random, byte[] model, boolean readOnly)
            throws Exception {
        int type = switch (random.nextInt(6)) {
            case 0, 1 -> VIRTIO_BLK_T_IN;
            case 2, 3 -> VIRTIO_BLK_T_OUT;
            case 4 -> random.nextBoolean() ? VIRTIO_BLK_T_FLUSH : VIRTIO_BLK_T_GET_ID;
            default -> random.nextInt();
        };
        long sector = switch (random.nextInt(6)) {
            case 0 -> SECTORS - 1;
            case 1 -> SECTORS + random.nextInt(3) - 1;
            case 2 -> random.nextLong();
            default -> random.nextInt(SECTORS);
        };
        int dataBytes = switch (random.nextInt(5)) {
            case 0 -> 0;
            case 1 -> random.nextInt(3 * SECTOR_SIZE);
            default -> SECTOR_SIZE * random.nextInt(4);
        };
        boolean writesData = type == VIRTIO_BLK_T_OUT;
        // Sometimes the readable part is shorter than a header, or there is no writable byte for the status.
        int headerBytes = random.nextInt(10) == 0 ? random.nextInt(HEADER_SIZE) : HEADER_SIZE;
        boolean noStatus = random.nextInt(10) == 0;
        int readable = headerBytes + (writesData && headerBytes == HEADER_SIZE ? dataBytes : 0);
        int writable = noStatus ? 0 : (writesData ? 0 : dataBytes) + 1;

        long readBase = harness.allocate(Math.max(readable, 1));
        long writeBase = harness.allocate(Math.max(writable, 1));
        ByteBuffer header = ByteBuffer.allocate(HEADER_SIZE)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putInt(type)
                .putInt(0)
                .putLong(sector);
        harness.memory().writeFully(readBase, Arrays.copyOf(header.array(), headerBytes));
        byte[] outData = new byte[readable - headerBytes];
        random.nextBytes(outData);
        harness.memory().writeFully(readBase + headerBytes, outData);
        byte[] canary = new byte[writable];
        Arrays.fill(canary, (byte) 0xee);
        harness.memory().writeFully(writeBase, canary);

        List<Buffer> buffers = new ArrayList<>();
        split(buffers, random, readBase, readable, false);
        split(buffers, random, writeBase, writable, true);
        if (buffers.isEmpty()) {
            return;
        }
        int head = queue.addChain(buffers.toArray(Buffer[]::new));
        harness.notifyQueue(0);
        harness.runUntilIdle();
        assertEquals(queue.availIdx(), queue.usedIdx(), "the request came back");
        DriverQueue.UsedElement used = queue.used(queue.usedIdx() - 1);
        assertEquals(head, used.id());

        byte[] after = new byte[writable];
        harness.memory().readFully(writeBase, after);
        if (headerBytes < HEADER_SIZE || noStatus) {
            assertEquals(0, used.length(), "no header or no status: returned unused");
            assertArrayEquals(canary, after, "and nothing written");
            return;
        }
        int status = after[writable - 1] & 0xff;
        long length = writesData ? dataBytes : writable - 1;
        boolean inRange = length % SECTOR_SIZE == 0
                && sector >= 0
                && sector <= SECTORS
                && length / SECTOR_SIZE <= SECTORS - sector;
        switch (type) {
            case VIRTIO_BLK_T_IN -> {
                assertEquals(inRange ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR, status);
                if (inRange) {
                    assertEquals(writable, used.length());
                    assertArrayEquals(
                            Arrays.copyOfRange(
                                    model, (int) sector * SECTOR_SIZE, (int) (sector * SECTOR_SIZE + length)),
                            Arrays.copyOf(after, writable - 1));
                }
            }
            case VIRTIO_BLK_T_OUT -> {
                boolean ok = inRange && !readOnly;
                assertEquals(ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR, status);
                assertEquals(1, used.length());
                if (ok) {
                    System.arraycopy(outData, 0, model, (int) sector * SECTOR_SIZE, dataBytes);
                }
            }
            case VIRTIO_BLK_T_FLUSH -> assertEquals(VIRTIO_BLK_S_OK, status);
            case VIRTIO_BLK_T_GET_ID -> {
                assertEquals(VIRTIO_BLK_S_OK, status);
                assertEquals(Math.min(writable - 1, ID_BYTES) + 1, used.length());
            }
            default -> assertEquals(VIRTIO_BLK_S_UNSUPP, status);
        }
    }

    /** Adds {@code [base, base + length)} as one to three descriptors cut at random places. */
    private static void split(List<Buffer> buffers, SplittableRandom random, long base, int length, boolean writable) {
        if (length == 0) {
            return;
        }
        int pieces = 1 + random.nextInt(Math.min(3, length));
        int start = 0;
        for (int i = 0; i < pieces; i++) {
            int end = i == pieces - 1 ? length : start + 1 + random.nextInt(length - start - (pieces - i - 1));
            buffers.add(new Buffer(base + start, end - start, writable));
            start = end;
        }
    }
}
