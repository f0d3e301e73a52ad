// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.queue;

import static dev.vmm4j.virtio.queue.VirtqLayout.DESC_ADDR;
import static dev.vmm4j.virtio.queue.VirtqLayout.DESC_FLAGS;
import static dev.vmm4j.virtio.queue.VirtqLayout.DESC_LEN;
import static dev.vmm4j.virtio.queue.VirtqLayout.DESC_NEXT;
import static dev.vmm4j.virtio.queue.VirtqLayout.DESC_SIZE;
import static dev.vmm4j.virtio.queue.VirtqLayout.VIRTQ_DESC_F_INDIRECT;
import static dev.vmm4j.virtio.queue.VirtqLayout.VIRTQ_DESC_F_NEXT;
import static dev.vmm4j.virtio.queue.VirtqLayout.VIRTQ_DESC_F_WRITE;

import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * One descriptor chain the driver made available, copied out of guest memory and checked: a reusable cursor that
 * {@link SplitQueue#popChain} fills, so taking a chain allocates nothing.
 *
 * <p>The whole chain is walked once when it is popped: each descriptor (direct, or in an indirect table) is read from
 * guest memory exactly once into this object, and every check is made on that copy, so a driver that rewrites the
 * table meanwhile changes nothing the device sees. A chain is bounded by the queue size (which catches loops), each
 * buffer must lie inside guest memory, device-readable buffers come before device-writable ones, and an indirect table
 * may not nest. A chain that fails a check is {@linkplain #isValid() invalid}, with the {@linkplain #error() reason}:
 * the device returns its head unused.
 *
 * <p>The readable buffers form one byte stream and the writable buffers another; devices read and write them by
 * offset ({@link #readReadable}, {@link #writeWritable}) and never assume how the driver split them into descriptors
 * (virtio 1.2, 2.6.4).
 *
 * <p><b>Thread safety:</b> not thread-safe; confined to the device thread that pops chains.
 */
public final class DescriptorChain {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final long[] addresses;
    private final long[] lengths;
    private GuestMemory memory;
    private int head;
    private int count;
    private int readableCount;
    private long readableBytes;
    private long writableBytes;
    private ChainError error;

    /**
     * A cursor for chains of up to {@code maxDescriptors} descriptors (a queue's maximum size).
     *
     * @param maxDescriptors 1 to {@link VirtqLayout#MAX_QUEUE_SIZE}; the two arrays that hold a chain's addresses and
     *     lengths are allocated now at this size, so popping never allocates. It must be at least the size of any
     *     queue the cursor is used with ({@link SplitQueue#newChain()} makes one that fits)
     * @throws IllegalArgumentException if {@code maxDescriptors} is out of range
     */
    public DescriptorChain(int maxDescriptors) {
        if (maxDescriptors < 1 || maxDescriptors > VirtqLayout.MAX_QUEUE_SIZE) {
            throw new IllegalArgumentException("a chain holds 1 to 32768 descriptors, not " + maxDescriptors);
        }
        addresses = new long[maxDescriptors];
        lengths = new long[maxDescriptors];
    }

    /**
     * Walks the chain that starts at {@code headIndex} of {@code table}, a queue of {@code queueSize} descriptors,
     * copying and checking each descriptor. Never throws for anything the guest wrote: a bad chain is recorded as
     * {@link #error()}.
     */
    void load(GuestMemory guestMemory, MemorySegment table, int queueSize, int headIndex, boolean indirectAllowed) {
        memory = guestMemory;
        head = headIndex;
        count = 0;
        readableCount = 0;
        readableBytes = 0;
        writableBytes = 0;
        error = walk(table, queueSize, headIndex, indirectAllowed);
    }

    private ChainError walk(MemorySegment table, int queueSize, int headIndex, boolean indirectAllowed) {
        if (queueSize > addresses.length) {
            throw new IllegalStateException(
                    "queue size " + queueSize + " exceeds this chain's capacity " + addresses.length);
        }
        if (headIndex >= queueSize) {
            return ChainError.HEAD_OUT_OF_RANGE;
        }
        MemorySegment current = table;
        long tableEntries = queueSize;
        boolean inIndirect = false;
        long index = headIndex;
        while (true) {
            if (index >= tableEntries) {
                return ChainError.NEXT_OUT_OF_RANGE;
            }
            // Each field of the descriptor is read once; everything below looks only at these copies.
            long offset = index * DESC_SIZE;
            long address = current.get(LONG, offset + DESC_ADDR);
            long length = Integer.toUnsignedLong(current.get(INT, offset + DESC_LEN));
            int flags = Short.toUnsignedInt(current.get(SHORT, offset + DESC_FLAGS));
            int next = Short.toUnsignedInt(current.get(SHORT, offset + DESC_NEXT));
            if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) {
                if (!indirectAllowed) {
                    return ChainError.INDIRECT_NOT_NEGOTIATED;
                }
                if (inIndirect) {
                    return ChainError.NESTED_INDIRECT;
                }
                if ((flags & VIRTQ_DESC_F_NEXT) != 0) {
                    return ChainError.INDIRECT_WITH_NEXT;
                }
                if (length == 0 || length % DESC_SIZE != 0) {
                    return ChainError.BAD_INDIRECT_LENGTH;
                }
                if (!memory.isValidRange(address, length)) {
                    return ChainError.INDIRECT_OUTSIDE_MEMORY;
                }
                try {
                    current = memory.slice(address, length);
                } catch (GuestMemoryException e) {
                    return ChainError.INDIRECT_OUTSIDE_MEMORY; // spans two regions
                }
                // The table may be longer than the queue; the count check below still bounds the walk.
                tableEntries = length / DESC_SIZE;
                inIndirect = true;
                index = 0;
                continue;
            }
            if (count == queueSize) {
                return ChainError.TOO_LONG;
            }
            if (!memory.isValidRange(address, length)) {
                return ChainError.BUFFER_OUTSIDE_MEMORY;
            }
            boolean writable = (flags & VIRTQ_DESC_F_WRITE) != 0;
            if (writable) {
                writableBytes += length;
            } else {
                if (count > readableCount) {
                    return ChainError.READABLE_AFTER_WRITABLE;
                }
                readableCount++;
                readableBytes += length;
            }
            addresses[count] = address;
            lengths[count] = length;
            count++;
            if ((flags & VIRTQ_DESC_F_NEXT) == 0) {
                return null;
            }
            index = next;
        }
    }

    /** {@return the head descriptor's index: the id to return in the used ring} */
    public int head() {
        return head;
    }

    /** {@return whether the chain passed every check} */
    public boolean isValid() {
        return error == null;
    }

    /** {@return why the chain is malformed, or null if it is valid} */
    public ChainError error() {
        return error;
    }

    /** {@return the number of buffers (descriptors, indirect tables' entries included) of a valid chain} */
    public int descriptorCount() {
        return count;
    }

    /** {@return how many of the buffers are device-readable; they come first} */
    public int readableCount() {
        return readableCount;
    }

    /**
     * {@return the guest-physical address of buffer {@code i}}
     *
     * @param i the buffer's position in the chain, 0 to {@link #descriptorCount()} - 1; readable buffers first
     * @throws IndexOutOfBoundsException if {@code i} is out of range
     */
    public long address(int i) {
        Objects.checkIndex(i, count);
        return addresses[i];
    }

    /**
     * {@return the length in bytes of buffer {@code i}}
     *
     * @param i the buffer's position in the chain, 0 to {@link #descriptorCount()} - 1; readable buffers first
     * @throws IndexOutOfBoundsException if {@code i} is out of range
     */
    public long length(int i) {
        Objects.checkIndex(i, count);
        return lengths[i];
    }

    /**
     * {@return whether buffer {@code i} is device-writable}
     *
     * @param i the buffer's position in the chain, 0 to {@link #descriptorCount()} - 1
     * @throws IndexOutOfBoundsException if {@code i} is out of range
     */
    public boolean isWritable(int i) {
        Objects.checkIndex(i, count);
        return i >= readableCount;
    }

    /** {@return the device-readable bytes, all buffers together} */
    public long readableBytes() {
        return readableBytes;
    }

    /** {@return the device-writable bytes, all buffers together} */
    public long writableBytes() {
        return writableBytes;
    }

    /**
     * Copies bytes {@code [offset, offset + dst.byteSize())} of the readable stream into {@code dst}.
     *
     * @param offset where to start in the readable stream (all readable buffers end to end), in bytes
     * @param dst filled completely; its size is how many bytes are copied
     * @throws IndexOutOfBoundsException if the readable buffers hold fewer bytes
     * @throws IllegalStateException if the chain is not valid
     * @throws GuestMemoryException if a buffer is not in guest memory; each was checked when the chain was popped, so
     *     not for a chain {@link SplitQueue#popChain} filled
     */
    public void readReadable(long offset, MemorySegment dst) throws GuestMemoryException {
        transfer(0, readableCount, readableBytes, offset, dst, false);
    }

    /**
     * Copies {@code src} into the writable stream at {@code offset}.
     *
     * @param offset where to start in the writable stream (all writable buffers end to end), in bytes
     * @param src copied completely into guest memory
     * @throws IndexOutOfBoundsException if the writable buffers hold fewer bytes
     * @throws IllegalStateException if the chain is not valid
     * @throws GuestMemoryException if a buffer is not in guest memory; each was checked when the chain was popped, so
     *     not for a chain {@link SplitQueue#popChain} filled
     */
    public void writeWritable(long offset, MemorySegment src) throws GuestMemoryException {
        transfer(readableCount, count, writableBytes, offset, src, true);
    }

    private void transfer(int from, int to, long streamBytes, long offset, MemorySegment data, boolean toGuest)
            throws GuestMemoryException {
        requireValid();
        Objects.checkFromIndexSize(offset, data.byteSize(), streamBytes);
        long done = 0;
        long skip = offset;
        for (int i = from; i < to && done < data.byteSize(); i++) {
            if (skip >= lengths[i]) {
                skip -= lengths[i];
                continue;
            }
            long n = Math.min(lengths[i] - skip, data.byteSize() - done);
            MemorySegment part =
                    n == data.byteSize() ? data : data.asSlice(done, n); // no view when one buffer holds it all
            if (toGuest) {
                memory.writeFully(addresses[i] + skip, part);
            } else {
                memory.readFully(addresses[i] + skip, part);
            }
            done += n;
            skip = 0;
        }
    }

    private void requireValid() {
        if (error != null) {
            throw new IllegalStateException("the chain at head " + head + " is malformed: " + error.description());
        }
    }

    @Override
    public String toString() {
        return error != null
                ? "DescriptorChain[head " + head + ", malformed: " + error.description() + "]"
                : "DescriptorChain[head " + head + ", " + readableCount + " readable (" + readableBytes + " bytes), "
                        + (count - readableCount) + " writable (" + writableBytes + " bytes)]";
    }
}
