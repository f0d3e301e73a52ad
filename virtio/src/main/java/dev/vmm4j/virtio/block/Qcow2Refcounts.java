// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A qcow2 image's reference counts and cluster allocator: the refcount table (kept in memory), refcount blocks (read
 * on demand, a few cached), allocation (first free cluster from a hint, else the end of the file), and growth of the
 * table when the image outgrows it. Every change is written through to the file at once, in an order that leaves a
 * consistent image if the writer dies between any two writes: a cluster's refcount is written before anything points
 * to it, and a new block or table is written before the entry or header field that makes it live. The worst a crash
 * leaves is a leaked cluster (refcount 1, unreferenced), which {@code qemu-img check} reports as a leak, not an error.
 *
 * <p><b>Thread safety:</b> not thread-safe; {@link Qcow2Image} serialises its use.
 */
final class Qcow2Refcounts {
    private static final int CACHED_BLOCKS = 32;

    private final ImageFile file;
    private final int clusterBits;
    private final long clusterSize;
    private final int refcountBits;
    private final long maxRefcount;
    private final long entriesPerBlock;
    /** Clusters that hold metadata: never handed out, even if a corrupt refcount says they are free. */
    private final ClusterSet metadata;

    private final Map<Long, byte[]> blocks = new LinkedHashMap<>(CACHED_BLOCKS, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, byte[]> eldest) {
            return size() > CACHED_BLOCKS;
        }
    };
    private long tableOffset;
    private long[] table;
    // The last refcount block used, so that the common case looks up no map (and boxes no key).
    private long lastBlockOffset = -1;
    private byte[] lastBlock;
    private long endCluster;
    private long freeHint;

    private Qcow2Refcounts(ImageFile file, Qcow2Header header, long[] table, long fileSize, ClusterSet metadata) {
        this.file = file;
        this.clusterBits = header.clusterBits();
        this.clusterSize = header.clusterSize();
        this.refcountBits = 1 << header.refcountOrder();
        this.maxRefcount = refcountBits == 64 ? -1L : (1L << refcountBits) - 1;
        this.entriesPerBlock = clusterSize * 8 / refcountBits;
        this.tableOffset = header.refcountTableOffset();
        this.table = table;
        this.endCluster = (fileSize + clusterSize - 1) >> clusterBits;
        this.metadata = metadata;
    }

    /** Reads and checks the refcount table, and records its clusters and blocks as metadata. */
    static Qcow2Refcounts load(ImageFile file, Qcow2Header header, long fileSize, ClusterSet metadata)
            throws IOException {
        long bytes = header.refcountTableClusters() * header.clusterSize();
        ByteBuffer raw = ByteBuffer.wrap(file.readBytes(header.refcountTableOffset(), (int) bytes));
        long[] table = new long[(int) (bytes / 8)];
        for (int i = 0; i < table.length; i++) {
            long entry = raw.getLong(8 * i);
            long offset = entry & Qcow2Image.OFFSET_MASK;
            if (entry != 0
                    && (entry != offset
                            || offset % header.clusterSize() != 0
                            || offset > fileSize - header.clusterSize())) {
                throw new InvalidImageException(
                        file.path(),
                        String.format(
                                Locale.ROOT,
                                "refcount table entry %d (%#x) is not a cluster-aligned block inside the file",
                                i,
                                entry));
            }
            table[i] = offset;
            if (offset != 0) {
                metadata.add(offset >> header.clusterBits());
            }
        }
        for (int c = 0; c < header.refcountTableClusters(); c++) {
            metadata.add((header.refcountTableOffset() >> header.clusterBits()) + c);
        }
        return new Qcow2Refcounts(file, header, table, fileSize, metadata);
    }

    /** {@return the refcount of host cluster {@code cluster}} */
    long get(long cluster) throws IOException {
        long index = cluster / entriesPerBlock;
        if (cluster < 0 || index >= table.length || table[(int) index] == 0) {
            return 0;
        }
        return entry(block(table[(int) index]), cluster % entriesPerBlock);
    }

    /** Sets the refcount of {@code cluster} to {@code value}, allocating refcount blocks (and a bigger table) as needed. */
    void set(long cluster, long value) throws IOException {
        if (Long.compareUnsigned(value, maxRefcount) > 0) {
            throw new IOException(
                    "refcount " + value + " of cluster " + cluster + " does not fit in " + refcountBits + " bits");
        }
        long index = cluster / entriesPerBlock;
        if (index >= table.length) {
            growTable(index);
        }
        if (table[(int) index] == 0) {
            allocateBlock((int) index);
        }
        long blockOffset = table[(int) index];
        byte[] block = block(blockOffset);
        long position = setEntry(block, cluster % entriesPerBlock, value);
        int width = Math.max(1, refcountBits / 8);
        byte[] changed = new byte[width];
        System.arraycopy(block, (int) position, changed, 0, width);
        file.writeBytes(blockOffset + position, changed);
    }

    /** {@return a free cluster, now with refcount 1 (first free one from the hint, else at the end of the file)} */
    long allocate() throws IOException {
        long cluster = freeHint;
        while (cluster < endCluster && (get(cluster) != 0 || metadata.contains(cluster))) {
            cluster++;
        }
        if (cluster >= endCluster) {
            cluster = endCluster;
            endCluster = cluster + 1; // before set(), which may put refcount blocks at the end
        }
        set(cluster, 1);
        freeHint = cluster + 1;
        return cluster;
    }

    /** Drops one reference to {@code cluster}; at 0 it is free for {@link #allocate()}. */
    void release(long cluster) throws IOException {
        long count = get(cluster);
        if (count == 0) {
            throw new InvalidImageException(
                    file.path(),
                    "cluster " + cluster + " is used but its refcount is already 0; run qemu-img check -r all");
        }
        set(cluster, count - 1);
        if (count == 1) {
            freeHint = Math.min(freeHint, cluster);
        }
    }

    private byte[] block(long offset) throws IOException {
        if (offset == lastBlockOffset) {
            return lastBlock;
        }
        byte[] block = blocks.get(offset);
        if (block == null) {
            block = file.readBytes(offset, (int) clusterSize);
            blocks.put(offset, block);
        }
        lastBlockOffset = offset;
        lastBlock = block;
        return block;
    }

    private long entry(byte[] block, long index) {
        if (refcountBits < 8) {
            long bit = index * refcountBits;
            return (block[(int) (bit / 8)] >>> (bit % 8))
                    & maxRefcount; // sub-byte entries: least significant bits first
        }
        int width = refcountBits / 8;
        long value = 0;
        for (int i = 0; i < width; i++) {
            value = (value << 8) | (block[(int) (index * width) + i] & 0xff);
        }
        return value;
    }

    /** Sets entry {@code index} of {@code block}; {@return the offset of its first byte in the block} */
    private long setEntry(byte[] block, long index, long value) {
        if (refcountBits < 8) {
            long bit = index * refcountBits;
            int at = (int) (bit / 8);
            int shift = (int) (bit % 8);
            block[at] = (byte) ((block[at] & ~(maxRefcount << shift)) | (value << shift));
            return at;
        }
        int width = refcountBits / 8;
        int at = (int) (index * width);
        for (int i = width - 1; i >= 0; i--) {
            block[at + i] = (byte) value;
            value >>>= 8;
        }
        return at;
    }

    /** Puts a new refcount block for table entry {@code index} at the end of the file and makes it live. */
    private void allocateBlock(int index) throws IOException {
        long blockCluster = endCluster++;
        byte[] block = new byte[(int) clusterSize];
        if (blockCluster / entriesPerBlock == index) {
            setEntry(block, blockCluster % entriesPerBlock, 1); // the block counts itself
        } else {
            set(blockCluster, 1); // counted by another block, which set() finds or makes first
        }
        long offset = blockCluster << clusterBits;
        file.writeBytes(offset, block);
        blocks.put(offset, block);
        metadata.add(blockCluster);
        table[index] = offset;
        file.writeLong(tableOffset + 8L * index, offset); // now live
    }

    /**
     * Replaces the table with a bigger one covering {@code neededIndex}: new blocks for every new index up to what the
     * new layout needs, then the new table, all past the end of the file and counting themselves; then the header
     * switches to the new table, and the old table's clusters are freed.
     */
    private void growTable(long neededIndex) throws IOException {
        long entriesPerTableCluster = clusterSize / 8;
        int oldEntries = table.length;
        // The new blocks and table go at the end, from a cluster whose refcount falls past the old table, so that
        // they count themselves in new blocks and the old table needs no change before the switch.
        long start = Math.max(endCluster, oldEntries * entriesPerBlock);
        long firstIndex = start / entriesPerBlock;
        long blockCount = 1;
        long tableClusters = 1;
        long newEntries;
        while (true) {
            long lastIndex = (start + blockCount + tableClusters - 1) / entriesPerBlock;
            newEntries = Math.max(Math.max(neededIndex, lastIndex) + 1, 2L * oldEntries);
            newEntries = (newEntries + entriesPerTableCluster - 1) / entriesPerTableCluster * entriesPerTableCluster;
            long neededBlocks = lastIndex - firstIndex + 1;
            long neededTableClusters = newEntries / entriesPerTableCluster;
            if (neededBlocks <= blockCount && neededTableClusters <= tableClusters) {
                break;
            }
            blockCount = Math.max(blockCount, neededBlocks);
            tableClusters = Math.max(tableClusters, neededTableClusters);
        }
        if (tableClusters * clusterSize > Qcow2Header.MAX_REFCOUNT_TABLE_BYTES) {
            throw new IOException("image " + file.path() + " would need a refcount table over 8 MiB: it is too large");
        }
        newEntries = tableClusters * entriesPerTableCluster;
        long[] grown = Arrays.copyOf(table, (int) newEntries);
        byte[][] newBlocks = new byte[(int) blockCount][];
        for (int k = 0; k < blockCount; k++) {
            newBlocks[k] = new byte[(int) clusterSize];
            grown[(int) (firstIndex + k)] = (start + k) << clusterBits;
        }
        long tableStart = start + blockCount;
        for (long cluster = start; cluster < tableStart + tableClusters; cluster++) {
            setEntry(newBlocks[(int) (cluster / entriesPerBlock - firstIndex)], cluster % entriesPerBlock, 1);
        }
        for (int k = 0; k < blockCount; k++) {
            file.writeBytes((start + k) << clusterBits, newBlocks[k]);
        }
        ByteBuffer newTable = ByteBuffer.allocate((int) (tableClusters * clusterSize));
        for (long entry : grown) {
            newTable.putLong(entry);
        }
        long newTableOffset = tableStart << clusterBits;
        file.writeBytes(newTableOffset, newTable.array());
        // The switch: one write of the table's offset and size in the header.
        file.writeBytes(
                Qcow2Header.REFCOUNT_TABLE_OFFSET_OFFSET,
                ByteBuffer.allocate(12)
                        .putLong(newTableOffset)
                        .putInt((int) tableClusters)
                        .array());
        long oldTableOffset = tableOffset;
        long oldTableClusters = (8L * oldEntries + clusterSize - 1) / clusterSize;
        for (int k = 0; k < blockCount; k++) {
            blocks.put((start + k) << clusterBits, newBlocks[k]);
            metadata.add(start + k);
        }
        for (long c = 0; c < tableClusters; c++) {
            metadata.add(tableStart + c);
        }
        table = grown;
        tableOffset = newTableOffset;
        endCluster = Math.max(endCluster, tableStart + tableClusters);
        for (long c = 0; c < oldTableClusters; c++) {
            long cluster = (oldTableOffset >> clusterBits) + c;
            metadata.remove(cluster);
            release(cluster);
        }
    }
}
