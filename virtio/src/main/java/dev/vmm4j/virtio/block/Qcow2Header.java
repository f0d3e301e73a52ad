// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A qcow2 header, versions 2 and 3 (qemu's docs/interop/qcow2.txt), parsed and checked field by field; all fields
 * big-endian.
 *
 * <pre>
 *   0 magic "QFI\xfb"        4 version              8 backing_file_offset   16 backing_file_size
 *  20 cluster_bits          24 size (bytes)        32 crypt_method          36 l1_size (entries)
 *  40 l1_table_offset       48 refcount_table_offset                       56 refcount_table_clusters
 *  60 nb_snapshots          64 snapshots_offset
 *  v3: 72 incompatible_features   80 compatible_features   88 autoclear_features
 *      96 refcount_order          100 header_length        104 compression_type (if header_length > 104)
 * then header extensions (u32 type, u32 length, data padded to 8 bytes) up to type 0, within the first cluster.
 * </pre>
 */
record Qcow2Header(
        int version,
        long backingFileOffset,
        int backingFileSize,
        int clusterBits,
        long size,
        int l1Size,
        long l1TableOffset,
        long refcountTableOffset,
        int refcountTableClusters,
        int snapshotCount,
        long snapshotsOffset,
        long incompatibleFeatures,
        long compatibleFeatures,
        long autoclearFeatures,
        int refcountOrder,
        int headerLength,
        int compressionType,
        String backingFile,
        String backingFormat) {
    static final int MAGIC = 0x514649fb;
    static final int V2_HEADER_LENGTH = 72;
    static final int V3_HEADER_LENGTH = 104;
    static final int MIN_CLUSTER_BITS = 9;
    static final int MAX_CLUSTER_BITS = 21;
    /** qemu's limits: a 32 MiB L1 table, an 8 MiB refcount table, a virtual size of at most 2^61 bytes. */
    static final int MAX_L1_ENTRIES = 32 * 1024 * 1024 / 8;

    static final long MAX_REFCOUNT_TABLE_BYTES = 8L * 1024 * 1024;
    static final long MAX_SIZE = 1L << 61;
    static final int MAX_BACKING_FILE_NAME = 1023;

    static final long INCOMPAT_DIRTY = 1;
    static final long INCOMPAT_CORRUPT = 1 << 1;
    static final long INCOMPAT_EXTERNAL_DATA = 1 << 2;
    static final long INCOMPAT_COMPRESSION_TYPE = 1 << 3;
    static final long INCOMPAT_EXTENDED_L2 = 1 << 4;

    static final int EXT_END = 0;
    static final int EXT_BACKING_FORMAT = 0xe2792aca;
    static final int EXT_ENCRYPTION = 0x0537be77;
    static final int EXT_EXTERNAL_DATA = 0x44415441;

    /** Offsets of the fields vmm4j rewrites. */
    static final int AUTOCLEAR_FEATURES_OFFSET = 88;

    static final int REFCOUNT_TABLE_OFFSET_OFFSET = 48;

    long clusterSize() {
        return 1L << clusterBits;
    }

    /** {@return the L2 entries per table: a cluster of 8-byte entries} */
    int l2Entries() {
        return 1 << (clusterBits - 3);
    }

    /** {@return whether the header names a file to read unallocated clusters from} */
    boolean hasBackingFile() {
        return backingFile != null;
    }

    /**
     * Parses and checks the header in {@code firstCluster} (the image's first bytes: at least the header's cluster, or
     * the whole file if shorter), with {@code fileSize} for bounds.
     *
     * @throws InvalidImageException naming the field that is wrong, or the unsupported feature
     */
    static Qcow2Header parse(Path image, byte[] firstCluster, long fileSize) throws InvalidImageException {
        if (firstCluster.length < V2_HEADER_LENGTH) {
            throw new InvalidImageException(
                    image, "a qcow2 header needs 72 bytes, the file has " + firstCluster.length);
        }
        ByteBuffer h = ByteBuffer.wrap(firstCluster);
        if (h.getInt(0) != MAGIC) {
            throw new InvalidImageException(image, "not a qcow2 image (no QFI\\xfb magic)");
        }
        int version = h.getInt(4);
        if (version != 2 && version != 3) {
            throw new InvalidImageException(image, "qcow2 version " + version + " is not supported (only 2 and 3)");
        }
        long backingFileOffset = h.getLong(8);
        int backingFileSize = h.getInt(16);
        int clusterBits = h.getInt(20);
        if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
            throw new InvalidImageException(image, "cluster_bits " + clusterBits + " is outside 9..21");
        }
        long clusterSize = 1L << clusterBits;
        long size = h.getLong(24);
        if (size < 0 || size > MAX_SIZE) {
            throw new InvalidImageException(
                    image, "virtual size " + Long.toUnsignedString(size) + " is beyond 2^61 bytes");
        }
        int cryptMethod = h.getInt(32);
        if (cryptMethod != 0) {
            throw new InvalidImageException(
                    image, "encrypted images (crypt_method " + cryptMethod + ") are not supported");
        }
        int l1Size = h.getInt(36);
        long l1TableOffset = h.getLong(40);
        long refcountTableOffset = h.getLong(48);
        int refcountTableClusters = h.getInt(56);
        int snapshotCount = h.getInt(60);
        long snapshotsOffset = h.getLong(64);

        long incompatible = 0;
        long compatible = 0;
        long autoclear = 0;
        int refcountOrder = 4;
        int headerLength = V2_HEADER_LENGTH;
        int compressionType = 0;
        if (version == 3) {
            if (firstCluster.length < V3_HEADER_LENGTH) {
                throw new InvalidImageException(
                        image, "a version 3 header needs 104 bytes, the file has " + firstCluster.length);
            }
            incompatible = h.getLong(72);
            compatible = h.getLong(80);
            autoclear = h.getLong(88);
            refcountOrder = h.getInt(96);
            headerLength = h.getInt(100);
            if (headerLength < V3_HEADER_LENGTH
                    || headerLength % 8 != 0
                    || headerLength > Math.min(clusterSize, firstCluster.length)) {
                throw new InvalidImageException(
                        image,
                        "header_length " + headerLength + " is not a multiple of 8 from 104 to the cluster size");
            }
            if (headerLength > V3_HEADER_LENGTH) {
                compressionType = Byte.toUnsignedInt(h.get(104));
            }
        }
        if (refcountOrder < 0 || refcountOrder > 6) {
            throw new InvalidImageException(image, "refcount_order " + refcountOrder + " is outside 0..6");
        }
        checkIncompatibleFeatures(image, incompatible, compressionType);

        long l2Coverage = clusterSize * (clusterSize / 8);
        long l1Needed = (size + l2Coverage - 1) / l2Coverage;
        if (l1Size < 0 || l1Size > MAX_L1_ENTRIES || l1Size < l1Needed) {
            throw new InvalidImageException(
                    image,
                    String.format(
                            Locale.ROOT,
                            "l1_size %d cannot map the virtual size %d (needs %d entries, at most %d)",
                            l1Size,
                            size,
                            l1Needed,
                            MAX_L1_ENTRIES));
        }
        checkTable(image, "L1 table", l1TableOffset, 8L * l1Size, clusterSize, fileSize);
        if (refcountTableClusters <= 0 || refcountTableClusters * clusterSize > MAX_REFCOUNT_TABLE_BYTES) {
            throw new InvalidImageException(
                    image,
                    "refcount_table_clusters " + refcountTableClusters + " is not 1 to "
                            + MAX_REFCOUNT_TABLE_BYTES / clusterSize);
        }
        checkTable(
                image,
                "refcount table",
                refcountTableOffset,
                refcountTableClusters * clusterSize,
                clusterSize,
                fileSize);
        if (snapshotCount < 0 || snapshotCount > 65536) {
            throw new InvalidImageException(image, "nb_snapshots " + snapshotCount + " is outside 0..65536");
        }

        String backingFile = null;
        if (backingFileOffset != 0) {
            if (backingFileSize <= 0
                    || backingFileSize > MAX_BACKING_FILE_NAME
                    || backingFileOffset < 0
                    || backingFileOffset + backingFileSize > Math.min(clusterSize, firstCluster.length)) {
                throw new InvalidImageException(
                        image,
                        "the backing file name (" + backingFileSize + " bytes at " + backingFileOffset
                                + ") is not inside the first cluster");
            }
            backingFile = new String(firstCluster, (int) backingFileOffset, backingFileSize, StandardCharsets.UTF_8);
        }
        String backingFormat =
                parseExtensions(image, h, headerLength, (int) Math.min(clusterSize, firstCluster.length));
        return new Qcow2Header(
                version,
                backingFileOffset,
                backingFileSize,
                clusterBits,
                size,
                l1Size,
                l1TableOffset,
                refcountTableOffset,
                refcountTableClusters,
                snapshotCount,
                snapshotsOffset,
                incompatible,
                compatible,
                autoclear,
                refcountOrder,
                headerLength,
                compressionType,
                backingFile,
                backingFormat);
    }

    private static void checkIncompatibleFeatures(Path image, long incompatible, int compressionType)
            throws InvalidImageException {
        if ((incompatible & INCOMPAT_EXTERNAL_DATA) != 0) {
            throw new InvalidImageException(
                    image, "external data files (incompatible feature bit 2) are not supported");
        }
        if ((incompatible & INCOMPAT_EXTENDED_L2) != 0) {
            throw new InvalidImageException(
                    image, "extended L2 entries (subclusters, incompatible feature bit 4) are not supported");
        }
        if ((incompatible & INCOMPAT_COMPRESSION_TYPE) != 0 && compressionType != 0) {
            throw new InvalidImageException(
                    image,
                    compressionType == 1
                            ? "zstd compression is not supported (only deflate)"
                            : "compression type " + compressionType + " is not supported (only deflate)");
        }
        long unknown = incompatible & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_COMPRESSION_TYPE);
        if (unknown != 0) {
            throw new InvalidImageException(
                    image, "unknown incompatible feature bit " + Long.numberOfTrailingZeros(unknown));
        }
    }

    private static void checkTable(Path image, String what, long offset, long bytes, long clusterSize, long fileSize)
            throws InvalidImageException {
        if (offset <= 0 || offset % clusterSize != 0 || offset > fileSize || bytes > fileSize - offset) {
            throw new InvalidImageException(
                    image,
                    String.format(
                            Locale.ROOT,
                            "the %s (%d bytes at %#x) is not a cluster-aligned part of the %d-byte file",
                            what,
                            bytes,
                            offset,
                            fileSize));
        }
    }

    /** Reads the header extensions; refuses the ones that change how data is stored. {@return the backing format, or null} */
    private static String parseExtensions(Path image, ByteBuffer h, int start, int end) throws InvalidImageException {
        String backingFormat = null;
        int at = start;
        while (at + 8 <= end) {
            int type = h.getInt(at);
            int length = h.getInt(at + 4);
            if (type == EXT_END) {
                return backingFormat;
            }
            if (length < 0 || length > end - at - 8) {
                throw new InvalidImageException(
                        image,
                        String.format(
                                Locale.ROOT,
                                "header extension %#x at %d claims %d bytes, past the first cluster",
                                type,
                                at,
                                length));
            }
            switch (type) {
                case EXT_BACKING_FORMAT ->
                    backingFormat = new String(h.array(), at + 8, length, StandardCharsets.UTF_8);
                case EXT_ENCRYPTION ->
                    throw new InvalidImageException(image, "encryption (LUKS header extension) is not supported");
                case EXT_EXTERNAL_DATA ->
                    throw new InvalidImageException(image, "external data files are not supported");
                default -> {} // feature names, bitmaps (autoclear: dropped on write), unknown ones: ignorable by the
                // spec
            }
            at += 8 + ((length + 7) & ~7);
        }
        return backingFormat; // no end marker before the cluster's end: tolerated, as qemu does
    }
}
