// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

/**
 * The virtio block device's constants (virtio 1.2, section 5.2): features, configuration layout, and the request
 * format.
 *
 * <pre>
 * request (the driver's chain):
 *   device-readable:  u32 type | u32 reserved | u64 sector  (16 bytes), then data for VIRTIO_BLK_T_OUT
 *   device-writable:  data for VIRTIO_BLK_T_IN / VIRTIO_BLK_T_GET_ID, then u8 status (the last writable byte)
 * configuration space:
 *   0 u64 capacity (512-byte sectors) | 8 u32 size_max | 12 u32 seg_max | 16 geometry | 20 u32 blk_size | ...
 *   36 u32 max_discard_sectors | 40 u32 max_discard_seg | 44 u32 discard_sector_alignment
 * </pre>
 */
public final class BlockLayout {
    /** Sectors are 512 bytes whatever the block size (5.2.6). */
    public static final int SECTOR_SIZE = 512;

    /** Feature bit: {@code seg_max} holds the most data buffers one request may have. */
    public static final int VIRTIO_BLK_F_SEG_MAX = 2;
    /** Feature bit: the disk is read-only; the device fails writes. */
    public static final int VIRTIO_BLK_F_RO = 5;
    /** Feature bit: {@code blk_size} holds the disk's block size, a hint for the driver's I/O size. */
    public static final int VIRTIO_BLK_F_BLK_SIZE = 6;
    /** Feature bit: the device takes {@link #VIRTIO_BLK_T_FLUSH} requests. */
    public static final int VIRTIO_BLK_F_FLUSH = 9;
    /**
     * Feature bit: the device takes {@link #VIRTIO_BLK_T_DISCARD} requests, within the {@code *_discard_*} limits in
     * the configuration.
     */
    public static final int VIRTIO_BLK_F_DISCARD = 13;

    /** Configuration offset of {@code capacity}: the u64 disk size in 512-byte sectors. */
    public static final int CONFIG_CAPACITY = 0;
    /** Configuration offset of {@code seg_max}: u32, the most data buffers in one request. */
    public static final int CONFIG_SEG_MAX = 12;
    /** Configuration offset of {@code blk_size}: u32, the block size in bytes. */
    public static final int CONFIG_BLK_SIZE = 20;
    /** Configuration offset of {@code max_discard_sectors}: u32, the most sectors one discard segment may cover. */
    public static final int CONFIG_MAX_DISCARD_SECTORS = 36;
    /** Configuration offset of {@code max_discard_seg}: u32, the most segments in one discard request. */
    public static final int CONFIG_MAX_DISCARD_SEG = 40;
    /** Configuration offset of {@code discard_sector_alignment}: u32, in sectors, the unit a discard can give back. */
    public static final int CONFIG_DISCARD_SECTOR_ALIGNMENT = 44;
    /** The configuration bytes vmm4j fills; beyond them the space reads as zero. */
    public static final int CONFIG_SIZE = 48;

    /** Request type: read sectors into the writable buffers. */
    public static final int VIRTIO_BLK_T_IN = 0;
    /** Request type: write the readable buffers after the header to the disk. */
    public static final int VIRTIO_BLK_T_OUT = 1;
    /** Request type: make every completed write durable. */
    public static final int VIRTIO_BLK_T_FLUSH = 4;
    /** Request type: write the device's ID string ({@link #ID_BYTES} bytes at most) to the writable buffers. */
    public static final int VIRTIO_BLK_T_GET_ID = 8;
    /**
     * Request type: the readable buffers after the header hold discard segments ({@link #DISCARD_SEGMENT_SIZE} bytes
     * each).
     */
    public static final int VIRTIO_BLK_T_DISCARD = 11;

    /** A discard segment: u64 sector, u32 num_sectors, u32 flags. */
    public static final int DISCARD_SEGMENT_SIZE = 16;
    /** The most segments one discard request may carry (max_discard_seg). */
    public static final int MAX_DISCARD_SEGMENTS = 32;
    /** The most sectors one segment may cover (max_discard_sectors): 2 GiB. */
    public static final int MAX_DISCARD_SECTORS = 1 << 22;

    /** Request status: done. */
    public static final int VIRTIO_BLK_S_OK = 0;
    /** Request status: failed (a bad sector or length, a read-only disk, or a host I/O error). */
    public static final int VIRTIO_BLK_S_IOERR = 1;
    /** Request status: the request type (or a discard flag) is not supported. */
    public static final int VIRTIO_BLK_S_UNSUPP = 2;

    /** The request header: type, reserved, sector. */
    public static final int HEADER_SIZE = 16;
    /** GET_ID answers with up to 20 bytes, NUL-terminated only if shorter. */
    public static final int ID_BYTES = 20;

    private BlockLayout() {}
}
