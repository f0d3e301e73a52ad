// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.rng;

import dev.vmm4j.virtio.ActivationException;
import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.virtio.QueueHandler;
import dev.vmm4j.virtio.ServedQueues;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.queue.DescriptorChain;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.lang.foreign.MemorySegment;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;

/**
 * The virtio entropy device (virtio 1.2, section 5.4): one request queue; each chain's device-writable buffers are
 * filled with bytes from the host's secure random source ({@code /dev/urandom} through {@code NativePRNGNonBlocking}).
 *
 * <p>A request is served up to {@link #MAX_BYTES_PER_REQUEST} bytes (the used length says how many), so a driver that
 * offers gigabytes, or the same buffer many times over, costs the host a bounded amount of work per chain.
 *
 * <p><b>Thread safety:</b> see {@link VirtioDevice}; requests are served on the device's event loop.
 */
public final class RngDevice implements VirtioDevice {
    /** The request queue's maximum size. */
    public static final int QUEUE_SIZE = 256;
    /** The most bytes one request gets. */
    public static final int MAX_BYTES_PER_REQUEST = 64 * 1024;

    private final RandomGenerator source;
    private final byte[] buffer = new byte[MAX_BYTES_PER_REQUEST];
    private final ServedQueues served = new ServedQueues();
    private final AtomicLong bytesServed = new AtomicLong();

    /** An entropy device fed from the host's non-blocking secure random source. */
    public RngDevice() {
        this(hostRandom());
    }

    /**
     * An entropy device fed from {@code source} (for tests; a guest deserves a secure source).
     *
     * @param source where the bytes come from, called on the device's event loop only; a seeded generator makes a
     *     test's bytes reproducible, and nothing checks that it is secure
     */
    public RngDevice(RandomGenerator source) {
        this.source = Objects.requireNonNull(source, "source");
    }

    private static SecureRandom hostRandom() {
        try {
            return SecureRandom.getInstance("NativePRNGNonBlocking");
        } catch (NoSuchAlgorithmException e) {
            return new SecureRandom(); // not Linux's /dev/urandom provider: the JDK's default secure source
        }
    }

    @Override
    public int deviceType() {
        return VirtioIds.RNG;
    }

    @Override
    public long deviceFeatures() {
        return 0;
    }

    @Override
    public List<Integer> queueMaxSizes() {
        return List.of(QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, MemorySegment data) {
        data.fill((byte) 0); // no configuration space
    }

    @Override
    public synchronized void activate(DeviceActivation activation) throws ActivationException {
        if (!activation.queues().getFirst().isActive()) {
            throw new ActivationException("the request queue (0) is not set up");
        }
        served.serve(activation.eventLoop(), QueueHandler.forQueue(name(), activation, 0, this::fill));
    }

    private long fill(DescriptorChain chain) throws GuestMemoryException {
        int bytes = (int) Math.min(chain.writableBytes(), MAX_BYTES_PER_REQUEST);
        if (bytes == 0) {
            return 0;
        }
        byte[] random = bytes == buffer.length ? buffer : new byte[bytes];
        source.nextBytes(random);
        chain.writeWritable(0, MemorySegment.ofArray(random));
        bytesServed.addAndGet(bytes);
        return bytes;
    }

    /** {@return how many random bytes the device has given the driver} */
    public long bytesServed() {
        return bytesServed.get();
    }

    @Override
    public synchronized void reset() {
        served.stop();
    }

    @Override
    public String toString() {
        return "RngDevice";
    }
}
