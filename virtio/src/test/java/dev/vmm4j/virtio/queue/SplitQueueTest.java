// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.queue;

import static dev.vmm4j.virtio.queue.VirtqLayout.VIRTQ_DESC_F_INDIRECT;
import static dev.vmm4j.virtio.queue.VirtqLayout.VIRTQ_DESC_F_NEXT;
import static dev.vmm4j.virtio.queue.VirtqLayout.VIRTQ_DESC_F_WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import dev.vmm4j.virtio.testing.GuestAllocator;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The split virtqueue's device side against a driver played in Java; negative tests quote the spec's MUSTs. */
class SplitQueueTest {
    private static final long MEMORY = 1 << 20;
    private final GuestMemoryMmap memory =
            GuestMemoryMmap.builder().anonymous(0, MEMORY).build();
    private final GuestAllocator allocator = new GuestAllocator(0x1000, MEMORY - 0x1000);
    private final DescriptorChain chain = new DescriptorChain(256);

    @AfterEach
    void close() {
        memory.close();
    }

    private SplitQueue queue(DriverQueue driver, boolean eventIdx, boolean indirect) throws QueueException {
        SplitQueue queue = new SplitQueue(256);
        queue.setSize(driver.size());
        queue.setDescTableAddress(driver.descTableAddress());
        queue.setAvailRingAddress(driver.availRingAddress());
        queue.setUsedRingAddress(driver.usedRingAddress());
        queue.setReady(true);
        queue.activate(memory, eventIdx, indirect);
        return queue;
    }

    private DescriptorChain pop(SplitQueue queue) throws QueueException {
        assertTrue(queue.popChain(chain), "a chain is available");
        return chain;
    }

    @Test
    void chainWithReadableAndWritableParts() throws Exception {
        DriverQueue driver = new DriverQueue(memory, allocator, 8);
        SplitQueue queue = queue(driver, false, false);
        assertFalse(queue.popChain(chain), "nothing available yet");
        int head = driver.addChain(
                Buffer.readable(0x10000, 16), Buffer.writable(0x20000, 4096), Buffer.writable(0x30000, 1));
        DescriptorChain popped = pop(queue);
        assertTrue(popped.isValid(), popped.toString());
        assertEquals(head, popped.head());
        assertEquals(3, popped.descriptorCount());
        assertEquals(1, popped.readableCount());
        assertEquals(16, popped.readableBytes());
        assertEquals(4097, popped.writableBytes());
        assertEquals(0x20000, popped.address(1));
        assertTrue(popped.isWritable(2));
        assertFalse(queue.popChain(chain));
    }

    @Test
    void aPoppedChainCanBeGivenBackOnceAndOnlyBeforeItIsUsed() throws Exception {
        DriverQueue driver = new DriverQueue(memory, allocator, 8);
        SplitQueue queue = queue(driver, false, false);
        int first = driver.addChain(Buffer.writable(0x10000, 64));
        int second = driver.addChain(Buffer.writable(0x20000, 64));
        assertThrows(IllegalStateException.class, queue::undoPop, "nothing popped yet");
        assertEquals(first, pop(queue).head());
        queue.undoPop();
        assertThrows(IllegalStateException.class, queue::undoPop, "given back already");
        assertEquals(first, pop(queue).head(), "the same chain again");
        queue.addUsed(first, 0);
        assertThrows(IllegalStateException.class, queue::undoPop, "used: the driver owns it again");
        assertEquals(second, pop(queue).head());
        assertFalse(queue.popChain(chain));
    }

    @Test
    void streamsCrossDescriptorBoundaries() throws Exception {
        DriverQueue driver = new DriverQueue(memory, allocator, 8);
        SplitQueue queue = queue(driver, false, false);
        memory.writeFully(0x10000, new byte[] {1, 2, 3});
        memory.writeFully(0x11000, new byte[] {4, 5});
        driver.addChain(
                Buffer.readable(0x10000, 3),
                Buffer.readable(0x11000, 2),
                Buffer.writable(0x20000, 2),
                Buffer.writable(0x21000, 3));
        DescriptorChain popped = pop(queue);
        byte[] read = new byte[4];
        popped.readReadable(1, MemorySegment.ofArray(read));
        assertArrayEquals(new byte[] {2, 3, 4, 5}, read);
        popped.writeWritable(1, MemorySegment.ofArray(new byte[] {9, 8, 7}));
        byte[] first = new byte[2];
        byte[] second = new byte[3];
        memory.readFully(0x20000, first);
        memory.readFully(0x21000, second);
        assertArrayEquals(new byte[] {0, 9}, first);
        assertArrayEquals(new byte[] {8, 7, 0}, second);
        assertThrows(
                IndexOutOfBoundsException.class,
                () -> popped.writeWritable(3, MemorySegment.ofArray(new byte[3])),
                "writing past the writable buffers");
    }

    @Test
    void usedRingAndIndicesWrapAtU16() throws Exception {
        DriverQueue driver = new DriverQueue(memory, allocator, 4);
        SplitQueue queue = queue(driver, false, false);
        for (int i = 0; i < 70_000; i++) {
            int head = driver.addChain(Buffer.writable(0x10000, 8));
            DescriptorChain popped = pop(queue);
            assertEquals(head, popped.head());
            queue.addUsed(popped.head(), i % 100);
            assertEquals((i + 1) & 0xffff, driver.usedIdx());
            assertEquals(new DriverQueue.UsedElement(head, i % 100), driver.used(i));
        }
        assertEquals(70_000 & 0xffff, queue.nextAvail());
    }

    @Test
    void regression_availIndexJumpingPastQueueSizeBreaksTheQueue() throws Exception {
        // 2.7.13.3 / 2.7.6: the driver adds at most Queue Size entries; a larger jump is corrupt.
        DriverQueue driver = new DriverQueue(memory, allocator, 8);
        SplitQueue queue = queue(driver, false, false);
        driver.setAvailIdx(9);
        QueueException e = assertThrows(QueueException.class, () -> queue.popChain(chain));
        assertTrue(e.getMessage().contains("9 entries ahead"), e.getMessage());
        driver.setAvailIdx(8);
        assertEquals(8, queue.pending(), "exactly the queue size is allowed");
    }

    @Test
    void loopIsBoundedByTheQueueSize() throws Exception {
        DriverQueue driver = new DriverQueue(memory, allocator, 8);
        SplitQueue queue = queue(driver, false, false);
        driver.writeDescriptor(0, 0x10000, 16, VIRTQ_DESC_F_NEXT, 1);
        driver.writeDescriptor(1, 0x10000, 16, VIRTQ_DESC_F_NEXT, 0);
        driver.makeAvailable(0);
        assertEquals(ChainError.TOO_LONG, pop(queue).error());
    }

    @Test
    void chainOfExactlyQueueSizeIsValid() throws Exception {
        DriverQueue driver = new DriverQueue(memory, allocator, 4);
        SplitQueue queue = queue(driver, false, false);
        driver.addChain(
                Buffer.readable(0x10000, 1),
                Buffer.readable(0x10000, 1),
                Buffer.writable(0x10000, 1),
                Buffer.writable(0x10000, 1));
        assertTrue(pop(queue).isValid());
    }

    @Test
    void malformedChainsSayWhy() throws Exception {
        DriverQueue driver = new DriverQueue(memory, allocator, 8);
        SplitQueue queue = queue(driver, false, true);
        // a head outside the table
        driver.makeAvailable(8);
        assertEquals(ChainError.HEAD_OUT_OF_RANGE, pop(queue).error());
        // a next outside the table
        driver.writeDescriptor(0, 0x10000, 16, VIRTQ_DESC_F_NEXT, 200);
        driver.makeAvailable(0);
        assertEquals(ChainError.NEXT_OUT_OF_RANGE, pop(queue).error());
        // a buffer outside guest memory, and one whose end wraps past 2^64
        driver.writeDescriptor(0, MEMORY - 8, 16, 0, 0);
        driver.makeAvailable(0);
        assertEquals(ChainError.BUFFER_OUTSIDE_MEMORY, pop(queue).error());
        driver.writeDescriptor(0, -8, 16, 0, 0);
        driver.makeAvailable(0);
        assertEquals(ChainError.BUFFER_OUTSIDE_MEMORY, pop(queue).error());
        // 2.7.4.2: the driver MUST NOT put a device-readable descriptor after a device-writable one
        driver.writeDescriptor(0, 0x10000, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
        driver.writeDescriptor(1, 0x10000, 16, 0, 0);
        driver.makeAvailable(0);
        assertEquals(ChainError.READABLE_AFTER_WRITABLE, pop(queue).error());
        // 2.7.5.3.1: the driver MUST NOT set VIRTQ_DESC_F_INDIRECT and VIRTQ_DESC_F_NEXT together
        driver.writeDescriptor(0, 0x10000, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
        driver.makeAvailable(0);
        assertEquals(ChainError.INDIRECT_WITH_NEXT, pop(queue).error());
        // an indirect table of 0 bytes, or not a multiple of 16
        driver.writeDescriptor(0, 0x10000, 0, VIRTQ_DESC_F_INDIRECT, 0);
        driver.makeAvailable(0);
        assertEquals(ChainError.BAD_INDIRECT_LENGTH, pop(queue).error());
        driver.writeDescriptor(0, 0x10000, 24, VIRTQ_DESC_F_INDIRECT, 0);
        driver.makeAvailable(0);
        assertEquals(ChainError.BAD_INDIRECT_LENGTH, pop(queue).error());
        // an indirect table outside guest memory
        driver.writeDescriptor(0, MEMORY - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
        driver.makeAvailable(0);
        assertEquals(ChainError.INDIRECT_OUTSIDE_MEMORY, pop(queue).error());
        // 2.7.5.3.1: the driver MUST NOT set VIRTQ_DESC_F_INDIRECT within an indirect table
        memory.putLong(0x40000, 0x50000);
        memory.putInt(0x40008, 16);
        memory.putShort(0x4000c, (short) VIRTQ_DESC_F_INDIRECT);
        driver.writeDescriptor(0, 0x40000, 16, VIRTQ_DESC_F_INDIRECT, 0);
        driver.makeAvailable(0);
        assertEquals(ChainError.NESTED_INDIRECT, pop(queue).error());
        assertThrows(
                IllegalStateException.class,
                () -> chain.readReadable(0, MemorySegment.ofArray(new byte[1])),
                "a malformed chain's buffers cannot be read");
    }

    @Test
    void indirectTablesNeedTheFeature() throws Exception {
        DriverQueue driver = new DriverQueue(memory, allocator, 8);
        SplitQueue queue = queue(driver, false, false);
        driver.addIndirectChain(Buffer.readable(0x10000, 16));
        assertEquals(ChainError.INDIRECT_NOT_NEGOTIATED, pop(queue).error());
    }

    @Test
    void indirectChainIsReadLikeADirectOne() throws Exception {
        DriverQueue driver = new DriverQueue(memory, allocator, 8);
        SplitQueue queue = queue(driver, false, true);
        int head = driver.addIndirectChain(
                Buffer.readable(0x10000, 16), Buffer.writable(0x20000, 512), Buffer.writable(0x30000, 1));
        DescriptorChain popped = pop(queue);
        assertNull(popped.error());
        assertEquals(head, popped.head());
        assertEquals(3, popped.descriptorCount());
        assertEquals(513, popped.writableBytes());
    }

    @Test
    void indirectLoopIsBoundedToo() throws Exception {
        DriverQueue driver = new DriverQueue(memory, allocator, 8);
        SplitQueue queue = queue(driver, false, true);
        memory.putLong(0x40000, 0x10000);
        memory.putInt(0x40008, 8);
        memory.putShort(0x4000c, (short) VIRTQ_DESC_F_NEXT);
        memory.putShort(0x4000e, (short) 0); // entry 0 -> entry 0
        driver.writeDescriptor(0, 0x40000, 16 * 1024, VIRTQ_DESC_F_INDIRECT, 0);
        driver.makeAvailable(0);
        assertEquals(ChainError.TOO_LONG, pop(queue).error());
    }

    @Test
    void activationChecksSizeAlignmentAndMemory() {
        DriverQueue driver = new DriverQueue(memory, allocator, 8);
        SplitQueue queue = new SplitQueue(256);
        queue.setDescTableAddress(driver.descTableAddress());
        queue.setAvailRingAddress(driver.availRingAddress());
        queue.setUsedRingAddress(driver.usedRingAddress());
        queue.setReady(true);
        queue.setSize(6);
        assertTrue(assertThrows(QueueException.class, () -> queue.activate(memory, false, false))
                .getMessage()
                .contains("power of two"));
        queue.setSize(512);
        assertThrows(QueueException.class, () -> queue.activate(memory, false, false), "bigger than the maximum");
        queue.setSize(8);
        queue.setDescTableAddress(driver.descTableAddress() + 8);
        assertTrue(assertThrows(QueueException.class, () -> queue.activate(memory, false, false))
                .getMessage()
                .contains("16-byte aligned"));
        queue.setDescTableAddress(MEMORY - 64);
        assertTrue(assertThrows(QueueException.class, () -> queue.activate(memory, false, false))
                .getMessage()
                .contains("not inside guest memory"));
        queue.setDescTableAddress(driver.descTableAddress());
        queue.setUsedRingAddress(driver.usedRingAddress() + 2);
        assertTrue(assertThrows(QueueException.class, () -> queue.activate(memory, false, false))
                .getMessage()
                .contains("4-byte aligned"));
        queue.setUsedRingAddress(driver.usedRingAddress());
        queue.setReady(false);
        assertThrows(QueueException.class, () -> queue.activate(memory, false, false), "not ready");
    }

    @Test
    void noInterruptFlagSuppressesNotification() throws Exception {
        DriverQueue driver = new DriverQueue(memory, allocator, 8);
        SplitQueue queue = queue(driver, false, false);
        assertFalse(queue.needsNotification(), "nothing used yet");
        driver.addChain(Buffer.writable(0x10000, 8));
        queue.addUsed(pop(queue).head(), 8);
        assertTrue(queue.needsNotification());
        assertFalse(queue.needsNotification(), "nothing new since");
        driver.setAvailFlags(VirtqLayout.VIRTQ_AVAIL_F_NO_INTERRUPT);
        driver.addChain(Buffer.writable(0x10000, 8));
        queue.addUsed(pop(queue).head(), 8);
        assertFalse(queue.needsNotification());
    }

    @Test
    void disableAndEnableNotificationUseTheUsedFlags() throws Exception {
        DriverQueue driver = new DriverQueue(memory, allocator, 8);
        SplitQueue queue = queue(driver, false, false);
        queue.disableNotification();
        assertEquals(VirtqLayout.VIRTQ_USED_F_NO_NOTIFY, driver.usedFlags());
        assertFalse(queue.enableNotification());
        assertEquals(0, driver.usedFlags());
        driver.addChain(Buffer.writable(0x10000, 8));
        assertTrue(queue.enableNotification(), "a chain arrived: keep draining");
    }

    @Test
    void eventIdxNotifiesOnlyWhenUsedEventIsPassed() throws Exception {
        DriverQueue driver = new DriverQueue(memory, allocator, 8);
        SplitQueue queue = queue(driver, true, false);
        driver.setUsedEvent(2); // interrupt me once the third buffer is used
        for (int i = 0; i < 2; i++) {
            driver.addChain(Buffer.writable(0x10000, 8));
            queue.addUsed(pop(queue).head(), 8);
            assertFalse(queue.needsNotification(), "used idx " + (i + 1) + " has not passed used_event 2");
        }
        driver.addChain(Buffer.writable(0x10000, 8));
        queue.addUsed(pop(queue).head(), 8);
        assertTrue(queue.needsNotification(), "used idx 3 passed used_event 2");
        assertFalse(queue.enableNotification());
        assertEquals(3, driver.availEvent(), "avail_event tells the driver where the device is");
    }

    @Test
    void resetForgetsEverything() throws Exception {
        DriverQueue driver = new DriverQueue(memory, allocator, 8);
        SplitQueue queue = queue(driver, false, false);
        queue.reset();
        assertFalse(queue.isActive());
        assertFalse(queue.isReady());
        assertEquals(256, queue.size());
        assertThrows(IllegalStateException.class, () -> queue.popChain(chain));
    }
}
