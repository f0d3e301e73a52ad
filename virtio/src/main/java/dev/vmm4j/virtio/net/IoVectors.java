// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import dev.vmm4j.virtio.queue.DescriptorChain;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestRegion;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * A reusable array of {@code struct iovec} pointing at a descriptor chain's buffers in guest memory, so that one
 * {@code readv}/{@code writev} moves a whole frame between a port and the guest. A buffer that crosses from one guest
 * memory region into another becomes two entries.
 *
 * <p>The kernel reaches guest memory through these raw addresses: the device uses them only while it is active, and
 * guest memory stays mapped until every device has been reset and closed.
 *
 * <p><b>Thread safety:</b> confined to the device's event loop; {@link #close()} after the loop stopped using it.
 */
final class IoVectors implements AutoCloseable {
    /** The most entries one transfer may use: Linux's UIO_MAXIOV. */
    static final int MAX_ENTRIES = 1024;

    private static final long ENTRY_BYTES = 16;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment entries = arena.allocate(ENTRY_BYTES * MAX_ENTRIES, 8);

    /** {@return the iovec array the last fill wrote} */
    MemorySegment segment() {
        return entries;
    }

    /** Points the array at {@code chain}'s device-readable buffers. {@return the entries, or -1 if too many} */
    int ofReadable(GuestMemory memory, DescriptorChain chain) {
        return fill(memory, chain, 0, chain.readableCount());
    }

    /** Points the array at {@code chain}'s device-writable buffers. {@return the entries, or -1 if too many} */
    int ofWritable(GuestMemory memory, DescriptorChain chain) {
        return fill(memory, chain, chain.readableCount(), chain.descriptorCount());
    }

    private int fill(GuestMemory memory, DescriptorChain chain, int from, int to) {
        List<GuestRegion> regions = memory.regions();
        int count = 0;
        for (int i = from; i < to; i++) {
            long address = chain.address(i);
            long remaining = chain.length(i);
            // A valid chain's buffers lie inside guest memory, so every byte belongs to some region.
            for (int r = 0; r < regions.size() && remaining > 0; r++) {
                GuestRegion region = regions.get(r);
                if (!region.contains(address)) {
                    continue;
                }
                if (count == MAX_ENTRIES) {
                    return -1;
                }
                long offset = address - region.start();
                long n = Math.min(remaining, region.size() - offset);
                entries.set(
                        ValueLayout.JAVA_LONG,
                        count * ENTRY_BYTES,
                        region.memory().address() + offset);
                entries.set(ValueLayout.JAVA_LONG, count * ENTRY_BYTES + 8, n);
                count++;
                address += n;
                remaining -= n;
                r = -1; // the rest of the buffer starts in another region: search them all again
            }
            if (remaining > 0) {
                throw new IllegalStateException("a validated chain's buffer lies outside guest memory: " + chain);
            }
        }
        return count;
    }

    @Override
    public void close() {
        arena.close();
    }
}
