// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.queue;

import static dev.vmm4j.virtio.queue.VirtqLayout.AVAIL_FLAGS;
import static dev.vmm4j.virtio.queue.VirtqLayout.AVAIL_IDX;
import static dev.vmm4j.virtio.queue.VirtqLayout.AVAIL_RING;
import static dev.vmm4j.virtio.queue.VirtqLayout.USED_ELEM_SIZE;
import static dev.vmm4j.virtio.queue.VirtqLayout.USED_FLAGS;
import static dev.vmm4j.virtio.queue.VirtqLayout.USED_IDX;
import static dev.vmm4j.virtio.queue.VirtqLayout.USED_RING;

import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * The device side of a split virtqueue (virtio 1.2, section 2.7): the registers the driver programs, then, once the
 * device is activated, taking descriptor chains from the available ring and returning them through the used ring.
 *
 * <pre>{@code
 * // on the device thread, after the queue's notification eventfd fired:
 * do {
 *     queue.disableNotification();
 *     while (queue.popChain(chain)) {
 *         long written = chain.isValid() ? serve(chain) : 0;
 *         queue.addUsed(chain.head(), written);
 *     }
 * } while (queue.enableNotification());     // the driver may have added more while notifications were off
 * if (queue.needsNotification()) {
 *     interrupt.signalUsed(queueIndex);
 * }
 * }</pre>
 *
 * <h2>The guest is hostile</h2>
 * {@link #activate} checks the size (a power of two up to the maximum), the rings' alignment, and that each ring lies
 * inside one region of guest memory, and resolves each ring once to a bounded {@link MemorySegment}; afterwards every
 * ring access is an index below the queue size into those segments. {@link #popChain} rejects an avail index that
 * runs more than the queue size ahead ({@link QueueException}: the queue is broken) and checks each chain (see
 * {@link DescriptorChain}). Indices are u16 and wrap as the spec says.
 *
 * <h2>Memory order</h2>
 * The driver publishes with a release store of {@code avail->idx}; the device reads it with acquire before it reads
 * the ring entries and descriptors. The device writes used elements with plain stores and publishes them with a
 * release store of {@code used->idx}. With VIRTIO_RING_F_EVENT_IDX, a full fence separates the store of used idx (or
 * of avail_event) from the load of used_event (or avail idx) that decides whether to notify: without it the two could
 * pass each other and both sides could wait for the other forever.
 *
 * <p><b>Thread safety:</b> not thread-safe. The transport configures it (vCPU threads, under the transport's lock)
 * before activation; afterwards it is confined to the device's thread until the device is reset.
 */
public final class SplitQueue {
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SHORT_HANDLE = SHORT.varHandle();

    private final int maxSize;

    // Programmed by the driver through the transport.
    private int size;
    private boolean ready;
    private long descTableGpa;
    private long availRingGpa;
    private long usedRingGpa;

    // Resolved by activate().
    private GuestMemory memory;
    private MemorySegment descTable;
    private MemorySegment availRing;
    private MemorySegment usedRing;
    private boolean eventIdx;
    private boolean indirect;
    private boolean active;

    // Device state, u16 counters kept in ints.
    private int nextAvail;
    private int nextUsed;
    /** Whether the last operation was a pop, which {@link #undoPop} may give back. */
    private boolean popUndoable;

    private int usedAtLastDecision;

    /**
     * A queue whose driver may choose any power-of-two size up to {@code maxSize}.
     *
     * @param maxSize what the transport reports as the queue's maximum size: a power of two from 1 to
     *     {@link VirtqLayout#MAX_QUEUE_SIZE}; also the size until the driver sets one
     * @throws IllegalArgumentException if {@code maxSize} is not such a power of two
     */
    public SplitQueue(int maxSize) {
        if (maxSize < 1 || maxSize > VirtqLayout.MAX_QUEUE_SIZE || Integer.bitCount(maxSize) != 1) {
            throw new IllegalArgumentException(
                    "a queue's maximum size is a power of two from 1 to 32768, not " + maxSize);
        }
        this.maxSize = maxSize;
        this.size = maxSize;
    }

    /** {@return the largest size the driver may choose} */
    public int maxSize() {
        return maxSize;
    }

    /** {@return the size the driver chose} */
    public int size() {
        return size;
    }

    /**
     * Sets the size the driver chose; {@link #activate} checks it.
     *
     * @param size in descriptors, stored as written (a valid one is a power of two up to {@link #maxSize()})
     */
    public void setSize(int size) {
        this.size = size;
    }

    /** {@return whether the driver marked the queue ready} */
    public boolean isReady() {
        return ready;
    }

    /**
     * Sets whether the driver marked the queue ready.
     *
     * @param ready the driver's QueueReady value; {@link #activate} refuses a queue that is not ready, and setting it
     *     false does not deactivate an active queue
     */
    public void setReady(boolean ready) {
        this.ready = ready;
    }

    /** {@return the descriptor table's guest-physical address, as the driver programmed it} */
    public long descTableAddress() {
        return descTableGpa;
    }

    /**
     * Sets the descriptor table's guest-physical address; {@link #activate} checks it.
     *
     * @param gpa guest-physical, stored as written; valid if 16-byte aligned and the table lies in one region
     */
    public void setDescTableAddress(long gpa) {
        this.descTableGpa = gpa;
    }

    /** {@return the available ring's guest-physical address, as the driver programmed it} */
    public long availRingAddress() {
        return availRingGpa;
    }

    /**
     * Sets the available ring's guest-physical address; {@link #activate} checks it.
     *
     * @param gpa guest-physical, stored as written; valid if 2-byte aligned and the ring lies in one region
     */
    public void setAvailRingAddress(long gpa) {
        this.availRingGpa = gpa;
    }

    /** {@return the used ring's guest-physical address, as the driver programmed it} */
    public long usedRingAddress() {
        return usedRingGpa;
    }

    /**
     * Sets the used ring's guest-physical address; {@link #activate} checks it.
     *
     * @param gpa guest-physical, stored as written; valid if 4-byte aligned and the ring lies in one region
     */
    public void setUsedRingAddress(long gpa) {
        this.usedRingGpa = gpa;
    }

    /**
     * Checks the programmed size and ring addresses against {@code memory}.
     *
     * @param memory the VM's guest memory; each ring must lie wholly inside it (that a ring stays in one region is
     *     checked only by {@link #activate})
     * @throws QueueException naming what is wrong
     */
    public void validate(GuestMemory memory) throws QueueException {
        if (size < 1 || size > maxSize || Integer.bitCount(size) != 1) {
            throw new QueueException("queue size " + size + " is not a power of two from 1 to " + maxSize);
        }
        checkRing(
                "descriptor table", memory, descTableGpa, VirtqLayout.descTableBytes(size), VirtqLayout.DESC_ALIGNMENT);
        checkRing(
                "available ring", memory, availRingGpa, VirtqLayout.availRingBytes(size), VirtqLayout.AVAIL_ALIGNMENT);
        checkRing("used ring", memory, usedRingGpa, VirtqLayout.usedRingBytes(size), VirtqLayout.USED_ALIGNMENT);
    }

    private static void checkRing(String what, GuestMemory memory, long gpa, long bytes, int alignment)
            throws QueueException {
        if (gpa % alignment != 0) {
            throw new QueueException(
                    String.format(Locale.ROOT, "%s at %#x is not %d-byte aligned", what, gpa, alignment));
        }
        if (!memory.isValidRange(gpa, bytes)) {
            throw new QueueException(
                    String.format(Locale.ROOT, "%s at %#x+%#x is not inside guest memory", what, gpa, bytes));
        }
    }

    /**
     * Validates the queue and resolves its rings for use with the features the driver accepted. The device's
     * counters start at 0, as after a reset.
     *
     * @param guestMemory the VM's guest memory; the queue keeps it, and views of the rings in it, until {@link #reset}
     * @param eventIdxNegotiated whether the driver accepted VIRTIO_RING_F_EVENT_IDX: notifications are then decided by
     *     used_event and avail_event rather than by the rings' flags
     * @param indirectNegotiated whether the driver accepted VIRTIO_RING_F_INDIRECT_DESC; without it a chain with an
     *     indirect descriptor is invalid
     * @throws QueueException if the queue is not ready or the driver programmed it wrongly (a ring that crosses from
     *     one region into another included)
     */
    public void activate(GuestMemory guestMemory, boolean eventIdxNegotiated, boolean indirectNegotiated)
            throws QueueException {
        if (!ready) {
            throw new QueueException("the queue is not ready");
        }
        validate(guestMemory);
        try {
            descTable = guestMemory.slice(descTableGpa, VirtqLayout.descTableBytes(size));
            availRing = guestMemory.slice(availRingGpa, VirtqLayout.availRingBytes(size));
            usedRing = guestMemory.slice(usedRingGpa, VirtqLayout.usedRingBytes(size));
        } catch (GuestMemoryException e) {
            throw new QueueException("a ring crosses from one guest memory region into another: " + e.getMessage());
        }
        memory = guestMemory;
        eventIdx = eventIdxNegotiated;
        indirect = indirectNegotiated;
        nextAvail = 0;
        popUndoable = false;
        nextUsed = 0;
        usedAtLastDecision = 0;
        active = true;
    }

    /** {@return whether {@link #activate} succeeded and no {@link #reset} came since} */
    public boolean isActive() {
        return active;
    }

    /** Forgets everything the driver programmed and the device did, as a device reset does. */
    public void reset() {
        active = false;
        ready = false;
        size = maxSize;
        descTableGpa = 0;
        availRingGpa = 0;
        usedRingGpa = 0;
        memory = null;
        descTable = null;
        availRing = null;
        usedRing = null;
        nextAvail = 0;
        popUndoable = false;
        nextUsed = 0;
    }

    /** {@return a cursor able to hold any chain of this queue} */
    public DescriptorChain newChain() {
        return new DescriptorChain(maxSize);
    }

    /**
     * {@return how many chains the driver made available that the device has not taken}
     *
     * @throws QueueException if the avail index runs more than the queue size ahead: the queue is broken
     * @throws IllegalStateException if the queue is not active
     */
    public int pending() throws QueueException {
        requireActive();
        int pending = (availIdxAcquire() - nextAvail) & 0xffff;
        if (pending > size) {
            // 2.7.13.3: the driver adds at most queue-size entries; anything else is a corrupt or hostile index.
            throw new QueueException(String.format(
                    Locale.ROOT,
                    "the available index ran %d entries ahead of the device, more than the queue size %d",
                    pending,
                    size));
        }
        return pending;
    }

    /**
     * Takes the next available chain into {@code chain}, which is then valid or says why not.
     *
     * @param chain the cursor to fill, overwriting the chain it held; it must hold chains of this queue's size
     *     ({@link #newChain()})
     * @return false if the driver has made nothing new available
     * @throws QueueException if the avail index is corrupt: the queue is broken
     * @throws IllegalStateException if the queue is not active, or {@code chain} is too small for the queue
     */
    public boolean popChain(DescriptorChain chain) throws QueueException {
        if (pending() == 0) {
            return false;
        }
        int head = Short.toUnsignedInt(availRing.get(SHORT, AVAIL_RING + 2L * (nextAvail & (size - 1))));
        nextAvail = (nextAvail + 1) & 0xffff;
        chain.load(memory, descTable, size, head, indirect);
        popUndoable = true;
        return true;
    }

    /**
     * Gives back the chain the last {@link #popChain} took, so that the next pop takes it again: for a device that
     * took a buffer and then found it had nothing to put in it (a network device whose tap had no frame after all).
     *
     * @throws IllegalStateException if the queue is not active, or the last operation was not a pop (a chain given
     *     back already, or returned through the used ring, cannot be given back)
     */
    public void undoPop() {
        requireActive();
        if (!popUndoable) {
            throw new IllegalStateException("undoPop without a pop to undo (the last chain was used or given back)");
        }
        popUndoable = false;
        nextAvail = (nextAvail - 1) & 0xffff;
    }

    /**
     * Puts chain {@code head} in the used ring with {@code writtenBytes} written to its buffers, and publishes it.
     *
     * @param head the chain's {@link DescriptorChain#head()}, valid or not; not checked, so return only heads this
     *     queue popped, each once
     * @param writtenBytes how many bytes the device wrote into the chain's writable buffers, from their start (0 for
     *     an invalid chain); capped at 2^32 - 1, the field's width
     * @throws IllegalStateException if the queue is not active
     */
    public void addUsed(int head, long writtenBytes) {
        requireActive();
        long element = USED_RING + (long) USED_ELEM_SIZE * (nextUsed & (size - 1));
        usedRing.set(INT, element, head);
        usedRing.set(INT, element + 4, (int) Math.min(writtenBytes, 0xffff_ffffL));
        nextUsed = (nextUsed + 1) & 0xffff;
        popUndoable = false;
        // Release: the element above must be visible before the index that hands it to the driver.
        SHORT_HANDLE.setRelease(usedRing, (long) USED_IDX, (short) nextUsed);
    }

    /**
     * Asks the driver not to notify (VIRTQ_USED_F_NO_NOTIFY) while the device is draining the queue. Only a hint;
     * with VIRTIO_RING_F_EVENT_IDX the device says how far it got instead (see {@link #enableNotification}).
     */
    public void disableNotification() {
        requireActive();
        if (!eventIdx) {
            usedRing.set(SHORT, USED_FLAGS, (short) VirtqLayout.VIRTQ_USED_F_NO_NOTIFY);
        }
    }

    /**
     * Asks the driver to notify for the next chain it adds. If chains arrived meanwhile, the device must go on
     * draining, as no notification will come for them.
     *
     * @return whether chains arrived meanwhile
     * @throws QueueException if the avail index runs more than the queue size ahead: the queue is broken
     * @throws IllegalStateException if the queue is not active
     */
    public boolean enableNotification() throws QueueException {
        requireActive();
        if (eventIdx) {
            usedRing.set(SHORT, VirtqLayout.usedRingBytes(size) - 2, (short) nextAvail); // avail_event
        } else {
            usedRing.set(SHORT, USED_FLAGS, (short) 0);
        }
        // Full fence: the store above must be visible before we read avail idx, or a chain the driver adds in
        // between would be seen by neither side.
        VarHandle.fullFence();
        return pending() != 0;
    }

    /**
     * {@return whether the driver wants an interrupt for the chains used since the last time this returned true}
     * (2.7.10: VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with VIRTIO_RING_F_EVENT_IDX).
     */
    public boolean needsNotification() {
        requireActive();
        int used = nextUsed;
        int old = usedAtLastDecision;
        if (used == old) {
            return false; // nothing used since the last decision
        }
        usedAtLastDecision = used;
        // Full fence: our store of used idx must be visible before we read the driver's flags or used_event (the
        // driver fences between writing those and reading used idx); otherwise each side may miss the other.
        VarHandle.fullFence();
        if (!eventIdx) {
            return (Short.toUnsignedInt(availRing.get(SHORT, AVAIL_FLAGS)) & VirtqLayout.VIRTQ_AVAIL_F_NO_INTERRUPT)
                    == 0;
        }
        int usedEvent = Short.toUnsignedInt(availRing.get(SHORT, VirtqLayout.availRingBytes(size) - 2));
        // vring_need_event: notify if used_event lies in [old, used), in u16 arithmetic.
        return ((used - usedEvent - 1) & 0xffff) < ((used - old) & 0xffff);
    }

    /** {@return the device's next avail index (u16)} */
    public int nextAvail() {
        return nextAvail;
    }

    /** {@return the device's next used index (u16)} */
    public int nextUsed() {
        return nextUsed;
    }

    private int availIdxAcquire() {
        // Acquire: the ring entries and descriptors we read next were written before the driver's release of idx.
        return Short.toUnsignedInt((short) SHORT_HANDLE.getAcquire(availRing, (long) AVAIL_IDX));
    }

    private void requireActive() {
        if (!active) {
            throw new IllegalStateException("the queue is not active");
        }
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "SplitQueue[size %d/%d, %s, desc %#x, avail %#x, used %#x, next avail %d, next used %d]",
                size,
                maxSize,
                active ? "active" : ready ? "ready" : "not ready",
                descTableGpa,
                availRingGpa,
                usedRingGpa,
                nextAvail,
                nextUsed);
    }
}
