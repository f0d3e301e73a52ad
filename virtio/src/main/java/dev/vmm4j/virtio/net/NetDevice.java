// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import dev.vmm4j.virtio.ActivationException;
import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.queue.SplitQueue;
import dev.vmm4j.vmm.event.EventLoop;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The virtio network device (virtio 1.2, section 5.1) with vmm4j moving the frames: a receive and a transmit queue of
 * {@value #QUEUE_SIZE}, crosvm's features (checksum and TSO/UFO offloads both ways, see {@link NetFeatures}), a MAC
 * address when one is given, and a {@link FramePort} (a {@link Tap}) at the host end. The frames move on the device's
 * event loop, straight between the port and guest memory; see {@link NetDataPath} for how nothing is dropped for want
 * of a buffer and how hostile chains and headers are handled. For the kernel's vhost-net instead, see
 * {@link VhostNetDevice}.
 *
 * <p>While active, its counters are reported to JFR each second as {@code dev.vmm4j.NetTraffic} events when a recording
 * enables them ({@link NetTrafficEvent}).
 *
 * <p><b>Ownership:</b> the device owns its port; {@link #close()} closes it.
 *
 * <p><b>Thread safety:</b> see {@link VirtioDevice}; {@link #statistics()} is safe from any thread.
 */
public final class NetDevice implements VirtioDevice, AutoCloseable {
    /** Each queue's maximum size, as crosvm's. */
    public static final int QUEUE_SIZE = 256;

    private final FramePort port;
    private final NetConfigSpace config;
    private final NetCounters counters = new NetCounters();
    private final IoVectors vectors = new IoVectors();
    private EventLoop loop;
    private int subscription;

    /**
     * A device whose frames go through {@code port}, with no MAC address of its own (the driver makes one up).
     *
     * @param port where the frames go; the device owns it and closes it on {@link #close()}
     */
    public NetDevice(FramePort port) {
        this(port, Optional.empty());
    }

    /**
     * A device whose frames go through {@code port}, with MAC address {@code mac} if present.
     *
     * @param port where the frames go; the device owns it and closes it on {@link #close()}
     * @param mac the address shown in configuration space (with VIRTIO_NET_F_MAC), or empty for the driver to make
     *     one up
     */
    public NetDevice(FramePort port, Optional<MacAddress> mac) {
        this.port = Objects.requireNonNull(port, "port");
        this.config = new NetConfigSpace(Objects.requireNonNull(mac, "mac"));
    }

    @Override
    public int deviceType() {
        return VirtioIds.NET;
    }

    @Override
    public long deviceFeatures() {
        return config.features();
    }

    @Override
    public List<Integer> queueMaxSizes() {
        return List.of(QUEUE_SIZE, QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, MemorySegment data) {
        config.read(offset, data);
    }

    @Override
    public synchronized void activate(DeviceActivation activation) throws ActivationException {
        List<SplitQueue> queues = activation.queues();
        if (!queues.get(NetDataPath.RX_QUEUE).isActive()
                || !queues.get(NetDataPath.TX_QUEUE).isActive()) {
            throw new ActivationException("virtio-net needs both its receive (0) and transmit (1) queues set up");
        }
        if (loop != null) {
            throw new IllegalStateException("virtio-net is already active; reset it first");
        }
        try {
            port.setOffload(NetFeatures.tapOffload(activation.ackedFeatures()));
        } catch (IOException e) {
            throw new ActivationException("virtio-net cannot use the offloads the driver accepted: " + e.getMessage());
        }
        NetDataPath path = new NetDataPath(
                name(),
                port,
                activation.memory(),
                queues.get(NetDataPath.RX_QUEUE),
                queues.get(NetDataPath.TX_QUEUE),
                activation.queueEvents().get(NetDataPath.RX_QUEUE),
                activation.queueEvents().get(NetDataPath.TX_QUEUE),
                activation.interrupt(),
                activation.ackedFeatures(),
                counters,
                vectors);
        subscription = activation.eventLoop().addSubscriber(path);
        loop = activation.eventLoop();
        NetTrafficReporter.register(counters, port.toString());
    }

    @Override
    public synchronized void reset() {
        if (loop != null) {
            loop.removeSubscriber(subscription);
            loop = null;
            NetTrafficReporter.forget(counters);
        }
    }

    /** {@return the MAC address the device shows the driver, if it has one} */
    public Optional<MacAddress> mac() {
        return config.mac();
    }

    /** {@return what the device has moved and refused so far} */
    public NetStatistics statistics() {
        return counters.snapshot();
    }

    /** Closes the port. Call it after the device was reset (the VM does). */
    @Override
    public synchronized void close() throws IOException {
        reset();
        try {
            port.close();
        } finally {
            vectors.close();
        }
    }

    @Override
    public String toString() {
        return "NetDevice[" + port + config.mac().map(mac -> ", mac " + mac).orElse("") + "]";
    }
}
