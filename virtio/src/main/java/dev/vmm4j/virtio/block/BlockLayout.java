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
 * </pre>
 */
public final class BlockLayout {
    /** Sectors are 512 bytes whatever the block size (5.2.6). */
    public static final int SECTOR_SIZE = 512;

    public static final int VIRTIO_BLK_F_SEG_MAX = 2;
    public static final int VIRTIO_BLK_F_RO = 5;
    public static final int VIRTIO_BLK_F_BLK_SIZE = 6;
    public static final int VIRTIO_BLK_F_FLUSH = 9;

    public static final int CONFIG_CAPACITY = 0;
    public static final int CONFIG_SEG_MAX = 12;
    public static final int CONFIG_BLK_SIZE = 20;
    /** The configuration bytes vmm4j fills; beyond them the space reads as zero. */
    public static final int CONFIG_SIZE = 24;

    public static final int VIRTIO_BLK_T_IN = 0;
    public static final int VIRTIO_BLK_T_OUT = 1;
    public static final int VIRTIO_BLK_T_FLUSH = 4;
    public static final int VIRTIO_BLK_T_GET_ID = 8;

    public static final int VIRTIO_BLK_S_OK = 0;
    public static final int VIRTIO_BLK_S_IOERR = 1;
    public static final int VIRTIO_BLK_S_UNSUPP = 2;

    /** The request header: type, reserved, sector. */
    public static final int HEADER_SIZE = 16;
    /** GET_ID answers with up to 20 bytes, NUL-terminated only if shorter. */
    public static final int ID_BYTES = 20;

    private BlockLayout() {}
}
