// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.balloon;

import dev.vmm4j.virtio.ActivationException;
import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.virtio.QueueHandler;
import dev.vmm4j.virtio.ServedQueues;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.VirtioInterrupt;
import dev.vmm4j.virtio.queue.DescriptorChain;
import dev.vmm4j.vmm.JfrEvents;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The virtio memory balloon (virtio 1.2, section 5.5): the host sets a target in pages ({@code num_pages}), the
 * driver inflates by sending page frame numbers on the inflate queue, deflates through the deflate queue, and writes
 * how many pages the balloon holds ({@code actual}).
 *
 * <p>Inflated pages are given back to the host at once ({@link GuestMemory#discard}: {@code madvise}), so the guest
 * reads them as zero if it touches them again; deflated pages need nothing, as touching them maps fresh memory. The
 * device offers VIRTIO_BALLOON_F_MUST_TELL_HOST (the driver tells before it reuses a page) and
 * VIRTIO_BALLOON_F_DEFLATE_ON_OOM (the driver may deflate when the guest runs out of memory).
 *
 * <p>Page frame numbers are the guest's to corrupt: one outside guest memory is skipped, and a chain gets at most
 * {@link #MAX_PFNS_PER_CHAIN} of them, so one request cannot keep the device busy for long.
 *
 * <p>Each change of the target or of {@code actual} is a JFR {@code dev.vmm4j.BalloonChange} event when a recording
 * enables it.
 *
 * <p><b>Thread safety:</b> {@link Balloon}'s methods are safe from any thread; the rest as {@link VirtioDevice} says.
 */
public final class BalloonDevice implements VirtioDevice, Balloon {
    /** Each queue's maximum size. */
    public static final int QUEUE_SIZE = 128;
    /** The most page frame numbers one chain gets served (Linux sends at most 256). */
    public static final int MAX_PFNS_PER_CHAIN = 65_536;

    /** Feature bit: the driver tells the host (on the deflate queue) before it reuses a page it gave back. */
    public static final int VIRTIO_BALLOON_F_MUST_TELL_HOST = 0;
    /** Feature bit: the driver may deflate the balloon when the guest runs out of memory. */
    public static final int VIRTIO_BALLOON_F_DEFLATE_ON_OOM = 2;
    /** Page frame numbers count 4 KiB pages, whatever the guest's page size. */
    public static final int PFN_SHIFT = 12;

    /** The size of the page a page frame number names, 4096 bytes; the unit of {@code num_pages} and {@code actual}. */
    public static final long PAGE_SIZE = 1L << PFN_SHIFT;
    /** Configuration-space offset of {@code le32 num_pages}, the target in pages (read-only for the driver). */
    public static final int CONFIG_NUM_PAGES = 0;
    /** Configuration-space offset of {@code le32 actual}, the pages the driver says the balloon holds. */
    public static final int CONFIG_ACTUAL = 4;

    private static final long CONFIG_SIZE = 8;
    private static final int INFLATE_QUEUE = 0;
    private static final int DEFLATE_QUEUE = 1;
    private static final int PFN_BATCH = 256;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final long memoryPages;
    private final AtomicLong targetPages = new AtomicLong();
    private final AtomicLong actualPages = new AtomicLong();
    private final AtomicLong releasedBytes = new AtomicLong();
    private final AtomicLong skippedPfns = new AtomicLong();
    private final MemorySegment pfns = MemorySegment.ofArray(new int[PFN_BATCH]);
    private volatile VirtioInterrupt interrupt;
    private final ServedQueues served = new ServedQueues();
    private GuestMemory memory;

    /**
     * A balloon for a guest with {@code guestMemoryBytes} of RAM, which caps its target.
     *
     * @param guestMemoryBytes the guest's RAM in bytes; rounded down to whole 4 KiB pages for the cap
     * @throws IllegalArgumentException if {@code guestMemoryBytes} is not positive
     */
    public BalloonDevice(long guestMemoryBytes) {
        if (guestMemoryBytes <= 0) {
            throw new IllegalArgumentException("guest memory must be positive, not " + guestMemoryBytes);
        }
        this.memoryPages = guestMemoryBytes / PAGE_SIZE;
    }

    @Override
    public int deviceType() {
        return VirtioIds.BALLOON;
    }

    @Override
    public long deviceFeatures() {
        return (1L << VIRTIO_BALLOON_F_MUST_TELL_HOST) | (1L << VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
    }

    @Override
    public List<Integer> queueMaxSizes() {
        return List.of(QUEUE_SIZE, QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, MemorySegment data) {
        // Byte by byte, so a config read (a vCPU exit) allocates nothing.
        long config = (targetPages.get() & 0xffff_ffffL) | (actualPages.get() << 32);
        for (long i = 0; i < data.byteSize(); i++) {
            long at = offset + i;
            byte value = at >= 0 && at < CONFIG_SIZE ? (byte) (config >>> (8 * at)) : 0;
            data.set(ValueLayout.JAVA_BYTE, i, value);
        }
    }

    @Override
    public void writeConfig(long offset, MemorySegment data) {
        // 5.5.6: the driver writes only actual, as a 32-bit value; anything else is ignored.
        if (offset == CONFIG_ACTUAL && data.byteSize() == 4) {
            long pages = Integer.toUnsignedLong(data.get(INT, 0));
            long previous = actualPages.getAndSet(pages);
            if (previous != pages) {
                recordChange("actual", previous * PAGE_SIZE);
            }
        }
    }

    @Override
    public synchronized void activate(DeviceActivation activation) throws ActivationException {
        if (!activation.queues().get(INFLATE_QUEUE).isActive()
                || !activation.queues().get(DEFLATE_QUEUE).isActive()) {
            throw new ActivationException("the inflate (0) and deflate (1) queues must both be set up");
        }
        memory = activation.memory();
        interrupt = activation.interrupt();
        served.serve(
                activation.eventLoop(),
                QueueHandler.forQueue(name(), activation, INFLATE_QUEUE, this::inflate),
                QueueHandler.forQueue(name(), activation, DEFLATE_QUEUE, chain -> 0));
        if (targetPages.get() != 0) {
            interrupt.signalConfigChange(); // a target set before the driver came
        }
    }

    @Override
    public synchronized void reset() {
        interrupt = null;
        served.stop();
        actualPages.set(0); // a new driver starts with an empty balloon
    }

    /** Gives back the pages a chain names, merging runs of consecutive frames into one discard each. */
    private long inflate(DescriptorChain chain) throws GuestMemoryException {
        long count = Math.min(chain.readableBytes() / 4, MAX_PFNS_PER_CHAIN);
        long runStart = -1;
        long runPages = 0;
        for (long done = 0; done < count; ) {
            int batch = (int) Math.min(PFN_BATCH, count - done);
            MemorySegment part = batch == PFN_BATCH ? pfns : pfns.asSlice(0, 4L * batch);
            chain.readReadable(4 * done, part);
            for (int i = 0; i < batch; i++) {
                long gpa = Integer.toUnsignedLong(part.get(INT, 4L * i)) << PFN_SHIFT;
                if (!memory.isValidRange(gpa, PAGE_SIZE)) {
                    skippedPfns.incrementAndGet();
                    continue;
                }
                if (runStart >= 0 && gpa == runStart + runPages * PAGE_SIZE) {
                    runPages++;
                    continue;
                }
                release(runStart, runPages);
                runStart = gpa;
                runPages = 1;
            }
            done += batch;
        }
        release(runStart, runPages);
        return 0;
    }

    private void release(long gpa, long pages) throws GuestMemoryException {
        if (pages > 0) {
            releasedBytes.addAndGet(memory.discard(gpa, pages * PAGE_SIZE));
        }
    }

    @Override
    public void setTargetBytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("a balloon target cannot be negative: " + bytes);
        }
        long pages = Math.min(bytes / PAGE_SIZE, memoryPages);
        long previous = targetPages.getAndSet(pages);
        if (previous != pages) {
            recordChange("target", previous * PAGE_SIZE);
            VirtioInterrupt current = interrupt;
            if (current != null) {
                current.signalConfigChange();
            }
        }
    }

    /** Commits a {@link BalloonChangeEvent} if a recording enables it; the object is gone otherwise (JIT). */
    private void recordChange(String changed, long previousBytes) {
        if (!JfrEvents.mayRecord()) {
            return; // and the event class stays unloaded
        }
        BalloonChangeEvent event = new BalloonChangeEvent();
        if (event.shouldCommit()) {
            event.changed = changed;
            event.targetBytes = targetBytes();
            event.actualBytes = actualBytes();
            event.previousBytes = previousBytes;
            event.commit();
        }
    }

    @Override
    public long targetBytes() {
        return targetPages.get() * PAGE_SIZE;
    }

    @Override
    public long actualBytes() {
        return actualPages.get() * PAGE_SIZE;
    }

    /** {@return the bytes given back to the host since the device was made (pages inflated more than once count again)} */
    public long releasedBytes() {
        return releasedBytes.get();
    }

    /** {@return the page frame numbers skipped because they were not guest memory} */
    public long skippedPfns() {
        return skippedPfns.get();
    }

    @Override
    public String toString() {
        return "BalloonDevice[target " + targetPages.get() + " pages, actual " + actualPages.get() + " pages]";
    }
}
