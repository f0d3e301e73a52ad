// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * Writes a new, empty qcow2 image (see {@link Qcow2Image#create}): cluster 0 the header (and the backing file's format
 * and name), cluster 1 the refcount table, cluster 2 its one refcount block, then the L1 table; each of these clusters
 * counted once.
 */
final class Qcow2Creation {
    private Qcow2Creation() {}

    static void write(Path path, long sizeBytes, Path backingFile, String backingFormat) throws IOException {
        int clusterBits = 16;
        long clusterSize = 1L << clusterBits;
        long l2Coverage = clusterSize * (clusterSize / 8);
        // What the largest L1 table maps: qemu's limit, which Qcow2Header enforces on open too (2 PiB here).
        long maxSize = Qcow2Header.MAX_L1_ENTRIES * l2Coverage;
        if (sizeBytes < 0 || sizeBytes > maxSize) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "a new qcow2 image is 0 to %d bytes (2 PiB: what an L1 table of at most %d entries maps with"
                            + " %d KiB clusters, the most qemu and vmm4j open), not %d",
                    maxSize,
                    Qcow2Header.MAX_L1_ENTRIES,
                    clusterSize >> 10,
                    sizeBytes));
        }
        long l1Size = Math.max(1, Math.ceilDiv(sizeBytes, l2Coverage)); // at most MAX_L1_ENTRIES, so an int
        long l1Clusters = Math.ceilDiv(8 * l1Size, clusterSize);
        // cluster 0: header; 1: refcount table; 2: refcount block; 3..: L1 table
        long clusters = 3 + l1Clusters;
        long refcountEntries = clusterSize * 8 / 16;
        if (clusters > refcountEntries) { // cannot happen up to maxSize: 515 clusters at most
            throw new IllegalArgumentException(
                    "a " + sizeBytes + "-byte image needs a bigger first refcount block than vmm4j writes");
        }
        ByteBuffer image = ByteBuffer.allocate(Math.toIntExact(clusters * clusterSize));
        image.putInt(Qcow2Header.MAGIC).putInt(3);
        image.putLong(0).putInt(0); // backing file offset and size, set below
        image.putInt(clusterBits)
                .putLong(sizeBytes)
                .putInt(0)
                .putInt((int) l1Size)
                .putLong(3 * clusterSize);
        image.putLong(clusterSize).putInt(1).putInt(0).putLong(0);
        image.putLong(0).putLong(0).putLong(0).putInt(4).putInt(Qcow2Header.V3_HEADER_LENGTH);
        if (backingFile != null) {
            String format = backingFormat == null ? "raw" : backingFormat;
            byte[] formatBytes = format.getBytes(StandardCharsets.UTF_8);
            image.putInt(Qcow2Header.EXT_BACKING_FORMAT)
                    .putInt(formatBytes.length)
                    .put(formatBytes);
            image.position((image.position() + 7) & ~7);
        }
        image.putInt(Qcow2Header.EXT_END).putInt(0);
        if (backingFile != null) {
            byte[] name = backingFile.toString().getBytes(StandardCharsets.UTF_8);
            if (name.length > Qcow2Header.MAX_BACKING_FILE_NAME) {
                throw new IllegalArgumentException("a backing file name is at most 1023 bytes");
            }
            int at = image.position();
            image.put(name);
            image.putLong(8, at).putInt(16, name.length);
        }
        image.putLong((int) clusterSize, 2 * clusterSize); // refcount table: its one block
        for (int c = 0; c < clusters; c++) {
            image.putShort((int) (2 * clusterSize + 2L * c), (short) 1);
        }
        Files.write(path, image.array(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }
}
