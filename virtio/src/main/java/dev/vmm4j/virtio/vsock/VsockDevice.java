// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.virtio.ActivationException;
import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.queue.SplitQueue;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.jail.FdSocket;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The virtio socket device (virtio 1.2, section 5.10) with vmm4j moving the bytes: stream connections between guest
 * ports and host unix sockets ({@link VsockConfig#withUnixSocket}) or the embedding program's {@link VsockChannel}s
 * ({@link VsockConfig#withHost}), with the spec's credit-based flow control both ways. Three queues of
 * {@value #QUEUE_SIZE} (receive, transmit, event); the configuration space holds the guest's CID. See
 * {@link VsockMuxer} for how memory stays bounded and hostile packets are handled. For the kernel's vhost-vsock
 * instead, see {@link VhostVsockDevice}.
 *
 * <p>Limits: {@value #MAX_CONNECTIONS} connections at once (further ones are refused) and a receive buffer of
 * {@value #BUFFER_SIZE} bytes per connection, the credit the guest is granted, so a stalled host costs at most that
 * much per connection.
 *
 * <p><b>Ownership:</b> the device owns its unix socket (closed and deleted by {@link #close()}) and the host ends of
 * its connections; the {@link VsockChannel}s it hands out are their receivers'.
 *
 * <p><b>Thread safety:</b> see {@link VirtioDevice}; {@link #statistics()} is safe from any thread.
 */
public final class VsockDevice implements VirtioDevice, AutoCloseable {
    /** Each queue's maximum size. */
    public static final int QUEUE_SIZE = 256;
    /** The receive buffer per connection, and so the credit granted to the guest: Linux's default. */
    public static final int BUFFER_SIZE = 256 * 1024;
    /** The most connections the device keeps at once. */
    public static final int MAX_CONNECTIONS = 256;

    private final long guestCid;
    private final UnixSocketBridge bridge;
    private final VsockHost host;
    private final VsockCounters counters = new VsockCounters();
    private final ConcurrentLinkedQueue<VsockMuxer.HostConnectRequest> hostRequests = new ConcurrentLinkedQueue<>();
    private final EventFd hostRequestsReady;
    private EventLoop loop;
    private int subscription;
    private VsockMuxer muxer;

    private VsockDevice(long guestCid, UnixSocketBridge bridge, VsockHost host, EventFd hostRequestsReady) {
        this.guestCid = guestCid;
        this.bridge = bridge;
        this.host = host;
        this.hostRequestsReady = hostRequestsReady;
    }

    /**
     * {@return a device as {@code config} says} It listens on its unix socket from here on (host processes that connect
     * before the guest's driver is up wait in the socket's backlog).
     *
     * @param config a configuration without vhost and without {@link VsockConfig#problems()}; its {@link VsockHost},
     *     if any, is attached to this device
     * @throws IOException if the unix socket cannot be made (see {@link VsockConfig#withUnixSocket})
     * @throws IllegalArgumentException if the configuration has problems or asks for vhost-vsock
     * @throws IllegalStateException if its {@link VsockHost} already serves another device
     */
    public static VsockDevice open(VsockConfig config) throws IOException {
        if (config.vhost()) {
            throw new IllegalArgumentException("a vhost-vsock configuration makes a VhostVsockDevice");
        }
        if (!config.problems().isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", config.problems()));
        }
        UnixSocketBridge bridge = config.unixSocket().isPresent()
                ? UnixSocketBridge.open(config.unixSocket().get())
                : null;
        EventFd ready = null;
        try {
            ready = EventFd.createNonBlocking();
            VsockDevice device =
                    new VsockDevice(config.guestCid(), bridge, config.host().orElse(null), ready);
            if (device.host != null) {
                device.host.attach(device);
            }
            return device;
        } catch (RuntimeException e) {
            if (ready != null) {
                ready.close();
            }
            if (bridge != null) {
                bridge.close();
            }
            throw e;
        }
    }

    /**
     * {@return a device for guest CID {@code guestCid} in a device process, over the unix socket the VMM made at
     * {@code path} and passed over as {@code listener}} The VMM makes the connections to {@code <path>_<P>} for the
     * guest and sends them over {@code broker} ({@link VsockBroker}), so the device process needs no file system and no
     * socket of its own; the VMM also deletes the path. The device owns {@code listener}; {@code broker} stays the
     * caller's and must outlive the device.
     *
     * @param guestCid the guest's context ID, 3 to {@link VsockConfig#MAX_GUEST_CID}
     * @param path the unix socket's path, where the VMM made it; names the {@code <path>_<P>} sockets
     * @param listener the listening socket's fd; the device owns it from now on
     * @param broker the device process's end of the broker's socket pair; stays the caller's
     * @throws IllegalArgumentException if {@code guestCid} is reserved or too large
     */
    public static VsockDevice adopt(long guestCid, Path path, OwnedFd listener, FdSocket broker) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(broker, "broker");
        VsockConfig.of(guestCid); // checks the CID
        UnixSocketBridge bridge =
                UnixSocketBridge.adopt(path, listener, port -> VsockBroker.connectThrough(broker, port));
        return new VsockDevice(guestCid, bridge, null, EventFd.createNonBlocking());
    }

    @Override
    public int deviceType() {
        return VirtioIds.VSOCK;
    }

    /** Stream sockets only, which needs no feature bit (virtio 1.2, 5.10.3). */
    @Override
    public long deviceFeatures() {
        return 0;
    }

    @Override
    public List<Integer> queueMaxSizes() {
        return List.of(QUEUE_SIZE, QUEUE_SIZE, QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, MemorySegment data) {
        readConfig(guestCid, offset, data);
    }

    /** Reads the configuration space of a vsock device (virtio 1.2, 5.10.4): {@code le64 guest_cid}, nothing else. */
    static void readConfig(long guestCid, long offset, MemorySegment data) {
        data.fill((byte) 0);
        for (long i = 0; i < data.byteSize(); i++) {
            long at = offset + i;
            if (at >= 0 && at < 8) {
                data.set(ValueLayout.JAVA_BYTE, i, (byte) (guestCid >>> (8 * at)));
            }
        }
    }

    /** Refuses an activation without the three queues a vsock driver sets up. */
    static void requireQueues(DeviceActivation activation) throws ActivationException {
        for (int queue = 0; queue < 3; queue++) {
            if (!activation.queues().get(queue).isActive()) {
                throw new ActivationException("virtio-vsock needs its receive (0), transmit (1) and event (2) queues"
                        + " set up; queue " + queue + " is not");
            }
        }
    }

    @Override
    public synchronized void activate(DeviceActivation activation) throws ActivationException {
        requireQueues(activation);
        List<SplitQueue> queues = activation.queues();
        if (loop != null) {
            throw new IllegalStateException("virtio-vsock is already active; reset it first");
        }
        muxer = new VsockMuxer(
                name(),
                guestCid,
                queues.get(VsockMuxer.RX_QUEUE),
                queues.get(VsockMuxer.TX_QUEUE),
                activation.queueEvents().get(VsockMuxer.RX_QUEUE),
                activation.queueEvents().get(VsockMuxer.TX_QUEUE),
                activation.queueEvents().get(VsockMuxer.EVENT_QUEUE),
                activation.interrupt(),
                counters,
                bridge,
                host,
                hostRequests,
                hostRequestsReady,
                BUFFER_SIZE,
                MAX_CONNECTIONS);
        try {
            subscription = activation.eventLoop().addSubscriber(muxer);
        } catch (RuntimeException e) {
            muxer.close(); // its timer and staging buffer
            muxer = null;
            throw e;
        }
        loop = activation.eventLoop();
    }

    /** Stops serving the driver: every connection is closed, and waiting connects from the host fail. */
    @Override
    public synchronized void reset() {
        if (loop == null) {
            return;
        }
        loop.removeSubscriber(subscription);
        loop = null;
        muxer.close();
        muxer = null;
        VsockMuxer.HostConnectRequest request;
        while ((request = hostRequests.poll()) != null) {
            request.hostPort().completeExceptionally(new ConnectException("the guest's vsock driver reset the device"));
            Libc.close(request.fd());
        }
    }

    /** {@return the guest's CID, as the device shows it} */
    public long guestCid() {
        return guestCid;
    }

    /** {@return the unix socket host processes connect to, if the device has one} */
    public Optional<Path> unixSocket() {
        return Optional.ofNullable(bridge).map(UnixSocketBridge::path);
    }

    /** {@return what the device has done and refused so far} */
    public VsockStatistics statistics() {
        return counters.snapshot();
    }

    /** The Java program's connect to a guest port, through {@link VsockHost#connect}. */
    VsockChannel connectFromHost(int guestPort, Duration timeout) throws IOException, InterruptedException {
        int[] pair = Libc.socketpair(LinuxHeaders.SOCK_STREAM());
        Libc.fcntl(pair[0], LinuxHeaders.F_SETFL(), LinuxHeaders.O_NONBLOCK());
        CompletableFuture<Integer> answer = new CompletableFuture<>();
        synchronized (this) {
            if (loop == null) {
                Libc.close(pair[0]);
                Libc.close(pair[1]);
                throw new ConnectException("the guest's vsock driver is not running (the guest has not set the device"
                        + " up yet, or reset it)");
            }
            hostRequests.add(new VsockMuxer.HostConnectRequest(
                    pair[0], guestPort, answer, System.nanoTime() + timeout.toNanos())); // the loop's from here
            hostRequestsReady.write(1);
        }
        try {
            int hostPort = answer.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            return new VsockChannel(pair[1], hostPort, guestPort);
        } catch (TimeoutException e) {
            answer.cancel(false); // the loop resets the connection if the guest answers later
            Libc.close(pair[1]);
            throw new SocketTimeoutException(
                    "guest port " + Integer.toUnsignedString(guestPort) + " did not answer within " + timeout);
        } catch (ExecutionException e) {
            Libc.close(pair[1]);
            throw e.getCause() instanceof ConnectException refused
                    ? new ConnectException(refused.getMessage())
                    : new IOException(
                            "connecting to guest port " + Integer.toUnsignedString(guestPort) + " failed",
                            e.getCause());
        } catch (InterruptedException e) {
            answer.cancel(false);
            Libc.close(pair[1]);
            throw e;
        }
    }

    /** Closes every connection, the unix socket (deleting its path) and lets go of the {@link VsockHost}. Idempotent. */
    @Override
    public synchronized void close() {
        reset();
        if (host != null) {
            host.detach(this);
        }
        try {
            if (bridge != null) {
                bridge.close();
            }
        } finally {
            hostRequestsReady.close();
        }
    }

    @Override
    public String toString() {
        return "VsockDevice[cid " + guestCid + (bridge != null ? ", " + bridge : "") + (host != null ? ", " + host : "")
                + "]";
    }
}
