// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.testing;

import static dev.vmm4j.virtio.queue.VirtqLayout.*;

import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.util.Objects;

/**
 * The driver's side of one split virtqueue, played in Java over {@link GuestMemory}: it writes descriptors, makes
 * chains available with a release store of the avail index, and reads back the used ring. Well-behaved helpers
 * ({@link #addChain}, {@link #addIndirectChain}) sit next to raw ones ({@link #writeDescriptor},
 * {@link #setAvailIdx}, {@link #setAvailRingEntry}) for writing the broken queues a hostile guest would.
 *
 * <pre>{@code
 * long header = harness.allocate(16), data = harness.allocate(4096), status = harness.allocate(1);
 * int head = queue.addChain(Buffer.readable(header, 16), Buffer.writable(data, 4096), Buffer.writable(status, 1));
 * harness.notifyQueue(0);
 * harness.runUntilIdle();
 * assertEquals(new UsedElement(head, 4097), queue.used(0));
 * }</pre>
 *
 * <p><b>Thread safety:</b> not thread-safe; the test thread plays the driver.
 */
public final class DriverQueue {
    /**
     * One buffer of a chain: guest-physical address, length, and whether the device may write it. Nothing is checked,
     * so a test can describe the buffers a hostile driver would.
     *
     * @param gpa guest-physical address of the buffer's first byte
     * @param length in bytes; written as the descriptor's u32 {@code len}, so a negative value stands for 2^31 or more
     * @param writable whether the device may write the buffer (VIRTQ_DESC_F_WRITE) rather than read it
     */
    public record Buffer(long gpa, int length, boolean writable) {
        /**
         * {@return a device-readable buffer}
         *
         * @param gpa guest-physical address of the buffer's first byte
         * @param length in bytes, as the descriptor's u32 {@code len}
         */
        public static Buffer readable(long gpa, int length) {
            return new Buffer(gpa, length, false);
        }

        /**
         * {@return a device-writable buffer}
         *
         * @param gpa guest-physical address of the buffer's first byte
         * @param length in bytes, as the descriptor's u32 {@code len}
         */
        public static Buffer writable(long gpa, int length) {
            return new Buffer(gpa, length, true);
        }
    }

    /**
     * An entry of the used ring: the chain's head and the bytes the device wrote.
     *
     * @param id the head descriptor's index, as the device wrote it (u32, not checked)
     * @param length the bytes the device says it wrote to the chain's writable buffers (u32, unsigned)
     */
    public record UsedElement(int id, long length) {}

    private final GuestMemory memory;
    private final GuestAllocator allocator;
    private final int size;
    private final long descTable;
    private final long availRing;
    private final long usedRing;
    private int nextDescriptor;
    private int availIdx;

    /**
     * A queue of {@code size} entries whose rings it allocates from {@code allocator}.
     *
     * @param memory the guest memory the rings and descriptors are written to
     * @param allocator where the rings (and indirect tables) go; used from now on, by this queue only
     * @param size entries in each ring; not checked, so it can be one the device refuses (a queue the device takes is
     *     a power of two up to its maximum)
     * @throws IllegalStateException if the allocator has no room for the rings
     */
    public DriverQueue(GuestMemory memory, GuestAllocator allocator, int size) {
        this.memory = Objects.requireNonNull(memory, "memory");
        this.allocator = Objects.requireNonNull(allocator, "allocator");
        this.size = size;
        this.descTable = allocator.allocate(descTableBytes(size), DESC_ALIGNMENT);
        this.availRing = allocator.allocate(availRingBytes(size), AVAIL_ALIGNMENT);
        this.usedRing = allocator.allocate(usedRingBytes(size), USED_ALIGNMENT);
    }

    /** {@return the number of entries in each ring, as given} */
    public int size() {
        return size;
    }

    /** {@return the descriptor table's guest-physical address} */
    public long descTableAddress() {
        return descTable;
    }

    /** {@return the available ring's guest-physical address} */
    public long availRingAddress() {
        return availRing;
    }

    /** {@return the used ring's guest-physical address} */
    public long usedRingAddress() {
        return usedRing;
    }

    /**
     * Writes descriptor {@code index} of the table as given, checking nothing.
     *
     * @param index the descriptor's slot; not checked against the size, so a larger one writes past the table
     * @param gpa the buffer's guest-physical address ({@code addr})
     * @param length the buffer's length in bytes ({@code len}, u32)
     * @param flags VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE and VIRTQ_DESC_F_INDIRECT bits; the low 16 bits are written
     * @param next the index of the next descriptor when VIRTQ_DESC_F_NEXT is set; the low 16 bits are written
     * @throws IllegalArgumentException if the slot is outside guest memory
     */
    public void writeDescriptor(int index, long gpa, int length, int flags, int next) {
        writeDescriptorAt(descTable + (long) DESC_SIZE * index, gpa, length, flags, next);
    }

    private void writeDescriptorAt(long entry, long gpa, int length, int flags, int next) {
        try {
            memory.putLong(entry + DESC_ADDR, gpa);
            memory.putInt(entry + DESC_LEN, length);
            memory.putShort(entry + DESC_FLAGS, (short) flags);
            memory.putShort(entry + DESC_NEXT, (short) next);
        } catch (GuestMemoryException e) {
            throw new IllegalArgumentException(
                    "descriptor at " + Long.toHexString(entry) + " is outside guest memory", e);
        }
    }

    /**
     * Writes {@code buffers} into the next free descriptors, linked in order, and makes the chain available.
     * Descriptors are taken in turn around the table and not tracked: with more than the queue's size in flight, a new
     * chain overwrites the oldest.
     *
     * @param buffers the chain's buffers, in order; 1 to the queue's size of them
     * @return the chain's head
     * @throws IllegalArgumentException if there are no buffers or more than the queue's size
     */
    public int addChain(Buffer... buffers) {
        if (buffers.length == 0 || buffers.length > size) {
            throw new IllegalArgumentException("a chain has 1 to " + size + " buffers, not " + buffers.length);
        }
        int head = nextDescriptor;
        for (int i = 0; i < buffers.length; i++) {
            int index = (head + i) % size;
            boolean more = i + 1 < buffers.length;
            Buffer buffer = buffers[i];
            writeDescriptor(
                    index,
                    buffer.gpa(),
                    buffer.length(),
                    (buffer.writable() ? VIRTQ_DESC_F_WRITE : 0) | (more ? VIRTQ_DESC_F_NEXT : 0),
                    more ? (index + 1) % size : 0);
        }
        nextDescriptor = (head + buffers.length) % size;
        makeAvailable(head);
        return head;
    }

    /**
     * Writes {@code buffers} into an indirect table in guest memory, puts one descriptor pointing at it in the next
     * free slot, and makes it available.
     *
     * @param buffers the chain's buffers, in order; their number is not checked, so an empty or oversized table can
     *     be made
     * @return the chain's head
     * @throws IllegalStateException if the allocator has no room for the table
     */
    public int addIndirectChain(Buffer... buffers) {
        long table = allocator.allocate((long) DESC_SIZE * buffers.length, DESC_ALIGNMENT);
        for (int i = 0; i < buffers.length; i++) {
            boolean more = i + 1 < buffers.length;
            Buffer buffer = buffers[i];
            writeDescriptorAt(
                    table + (long) DESC_SIZE * i,
                    buffer.gpa(),
                    buffer.length(),
                    (buffer.writable() ? VIRTQ_DESC_F_WRITE : 0) | (more ? VIRTQ_DESC_F_NEXT : 0),
                    more ? i + 1 : 0);
        }
        int head = nextDescriptor;
        writeDescriptor(head, table, DESC_SIZE * buffers.length, VIRTQ_DESC_F_INDIRECT, 0);
        nextDescriptor = (head + 1) % size;
        makeAvailable(head);
        return head;
    }

    /**
     * Puts {@code head} in the next avail ring slot and publishes it (release store of avail idx).
     *
     * @param head the chain's head descriptor index; the low 16 bits are written, not checked
     */
    public void makeAvailable(int head) {
        setAvailRingEntry(availIdx % size, head);
        setAvailIdx(availIdx + 1);
    }

    /**
     * Writes avail ring slot {@code slot} as given, without publishing it.
     *
     * @param slot the ring slot, 0 to size - 1; not checked, so a larger one writes past the ring
     * @param head the head descriptor index to put there; the low 16 bits are written
     */
    public void setAvailRingEntry(int slot, int head) {
        put(() -> memory.putShort(availRing + AVAIL_RING + 2L * slot, (short) head));
    }

    /**
     * Publishes {@code idx} (u16) as the avail index with a release store, as a driver does.
     *
     * @param idx the new avail index; taken modulo 2^16, and also where {@link #makeAvailable} goes on from
     */
    public void setAvailIdx(int idx) {
        availIdx = idx & 0xffff;
        put(() -> memory.putShortRelease(availRing + AVAIL_IDX, (short) availIdx));
    }

    /** {@return the avail index this driver last published} */
    public int availIdx() {
        return availIdx;
    }

    /**
     * Sets the avail ring's flags (VIRTQ_AVAIL_F_NO_INTERRUPT).
     *
     * @param flags the flags; the low 16 bits are written
     */
    public void setAvailFlags(int flags) {
        put(() -> memory.putShort(availRing + AVAIL_FLAGS, (short) flags));
    }

    /**
     * Sets used_event (VIRTIO_RING_F_EVENT_IDX): interrupt once the used index passes it.
     *
     * @param usedEvent the used index to be interrupted after; the low 16 bits are written
     */
    public void setUsedEvent(int usedEvent) {
        put(() -> memory.putShort(availRing + availRingBytes(size) - 2, (short) usedEvent));
    }

    /** {@return the used index the device published (acquire)} */
    public int usedIdx() {
        return get(() -> Short.toUnsignedInt(memory.getShortAcquire(usedRing + USED_IDX)));
    }

    /** {@return the used ring's flags (VIRTQ_USED_F_NO_NOTIFY)} */
    public int usedFlags() {
        return get(() -> Short.toUnsignedInt(memory.getShort(usedRing + USED_FLAGS)));
    }

    /** {@return avail_event, where the device asks to be notified (VIRTIO_RING_F_EVENT_IDX)} */
    public int availEvent() {
        return get(() -> Short.toUnsignedInt(memory.getShort(usedRing + usedRingBytes(size) - 2)));
    }

    /**
     * {@return used ring element number {@code n} (counting from 0 since activation, wrapping at the size)}
     *
     * @param n which element, from 0; read whether or not the device has published it yet (see {@link #usedIdx()})
     */
    public UsedElement used(int n) {
        long element = usedRing + USED_RING + (long) USED_ELEM_SIZE * (n % size);
        return get(() -> new UsedElement(memory.getInt(element), Integer.toUnsignedLong(memory.getInt(element + 4))));
    }

    private interface MemoryAction {
        void run() throws GuestMemoryException;
    }

    private interface MemoryQuery<T> {
        T get() throws GuestMemoryException;
    }

    private static void put(MemoryAction action) {
        try {
            action.run();
        } catch (GuestMemoryException e) {
            throw new IllegalStateException("the queue's rings are outside guest memory", e);
        }
    }

    private static <T> T get(MemoryQuery<T> query) {
        try {
            return query.get();
        } catch (GuestMemoryException e) {
            throw new IllegalStateException("the queue's rings are outside guest memory", e);
        }
    }
}
