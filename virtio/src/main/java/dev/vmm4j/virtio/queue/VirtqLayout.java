// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.queue;

/**
 * The split virtqueue's three areas in guest memory (virtio 1.2, section 2.7), all little-endian:
 *
 * <pre>
 * descriptor table (16-byte aligned), one entry per queue slot:
 *   0       8       12      14      16
 *   +-------+-------+-------+-------+
 *   | addr  | len   | flags | next  |      virtq_desc
 *   +-------+-------+-------+-------+
 * available ring (2-byte aligned), written by the driver:
 *   0       2       4                 4 + 2 * size
 *   +-------+-------+--- ... ---------+------------+
 *   | flags | idx   | ring[size] u16  | used_event |
 *   +-------+-------+--- ... ---------+------------+
 * used ring (4-byte aligned), written by the device:
 *   0       2       4                              4 + 8 * size
 *   +-------+-------+--- ... ----------------------+-------------+
 *   | flags | idx   | ring[size] {u32 id, u32 len} | avail_event |
 *   +-------+-------+--- ... ----------------------+-------------+
 * </pre>
 */
public final class VirtqLayout {
    /** Bytes per descriptor. */
    public static final int DESC_SIZE = 16;

    /** Offset in a descriptor of {@code addr}: the buffer's guest-physical address (u64). */
    public static final int DESC_ADDR = 0;
    /** Offset in a descriptor of {@code len}: the buffer's length in bytes (u32). */
    public static final int DESC_LEN = 8;
    /** Offset in a descriptor of {@code flags}: {@code VIRTQ_DESC_F_*} bits (u16). */
    public static final int DESC_FLAGS = 12;
    /** Offset in a descriptor of {@code next}: the next descriptor's index if F_NEXT is set (u16). */
    public static final int DESC_NEXT = 14;

    /** The buffer continues in {@code next}. */
    public static final int VIRTQ_DESC_F_NEXT = 1;
    /** The buffer is device-writable (otherwise device-readable). */
    public static final int VIRTQ_DESC_F_WRITE = 2;
    /** The buffer holds a table of descriptors (VIRTIO_RING_F_INDIRECT_DESC). */
    public static final int VIRTQ_DESC_F_INDIRECT = 4;

    /** Offset in the available ring of {@code flags}: {@code VIRTQ_AVAIL_F_*} bits (u16). */
    public static final int AVAIL_FLAGS = 0;
    /** Offset in the available ring of {@code idx}: where the driver puts the next entry, mod 2^16 (u16). */
    public static final int AVAIL_IDX = 2;
    /** Offset in the available ring of {@code ring}: heads of the available chains (u16 each). */
    public static final int AVAIL_RING = 4;
    /** The driver asks for no interrupts (when VIRTIO_RING_F_EVENT_IDX is not negotiated). */
    public static final int VIRTQ_AVAIL_F_NO_INTERRUPT = 1;

    /** Offset in the used ring of {@code flags}: {@code VIRTQ_USED_F_*} bits (u16). */
    public static final int USED_FLAGS = 0;
    /** Offset in the used ring of {@code idx}: where the device puts the next element, mod 2^16 (u16). */
    public static final int USED_IDX = 2;
    /** Offset in the used ring of {@code ring}: the used elements, each a chain's head and bytes written. */
    public static final int USED_RING = 4;
    /** Bytes per used element. */
    public static final int USED_ELEM_SIZE = 8;
    /** The device asks for no notifications (when VIRTIO_RING_F_EVENT_IDX is not negotiated). */
    public static final int VIRTQ_USED_F_NO_NOTIFY = 1;

    /** Alignment in bytes of the descriptor table. */
    public static final int DESC_ALIGNMENT = 16;
    /** Alignment in bytes of the available ring. */
    public static final int AVAIL_ALIGNMENT = 2;
    /** Alignment in bytes of the used ring. */
    public static final int USED_ALIGNMENT = 4;

    /** The largest split queue: Queue Size is a power of 2 up to 32768. */
    public static final int MAX_QUEUE_SIZE = 32768;

    private VirtqLayout() {}

    /**
     * {@return the descriptor table's size in bytes for a queue of {@code size}}
     *
     * @param size the queue size in descriptors; not checked (a power of two up to {@link #MAX_QUEUE_SIZE} in a valid
     *     queue)
     */
    public static long descTableBytes(int size) {
        return (long) DESC_SIZE * size;
    }

    /**
     * {@return the available ring's size in bytes, used_event included}
     *
     * @param size the queue size in descriptors; not checked
     */
    public static long availRingBytes(int size) {
        return AVAIL_RING + 2L * size + 2;
    }

    /**
     * {@return the used ring's size in bytes, avail_event included}
     *
     * @param size the queue size in descriptors; not checked
     */
    public static long usedRingBytes(int size) {
        return USED_RING + (long) USED_ELEM_SIZE * size + 2;
    }
}
