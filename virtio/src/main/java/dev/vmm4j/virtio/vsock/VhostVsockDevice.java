// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.virtio.ActivationException;
import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.vhost.UsedSignals;
import dev.vmm4j.virtio.vhost.Vhost;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The virtio socket device with the host kernel's vhost-vsock serving it (crosvm's {@code --cid}): the guest is then
 * an {@code AF_VSOCK} peer of every host process, at its CID. The kernel serves the receive and transmit queues,
 * reading the guest's kicks from KVM's ioeventfds; the event queue stays with vmm4j, which never needs it. Used-buffer
 * signals reach the guest through {@link UsedSignals}.
 *
 * <p><b>Ownership:</b> owns the vhost fd; {@link #close()} closes it, which frees the CID.
 *
 * <p><b>Thread safety:</b> see {@link VirtioDevice}.
 */
public final class VhostVsockDevice implements VirtioDevice, AutoCloseable {
    /** Where the host kernel offers vhost-vsock. */
    public static final Path VHOST_VSOCK = Path.of("/dev/vhost-vsock");

    /** The ring features vmm4j's transport always offers; the kernel must serve rings with them. */
    private static final long RING_FEATURES =
            (1L << 28) | (1L << 29) | (1L << 32); // INDIRECT_DESC, EVENT_IDX, VERSION_1

    private static final int KERNEL_QUEUES = 2;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Vhost vhost;
    private final long guestCid;
    private final long kernelFeatures;
    private final MemorySegment config = MemorySegment.ofArray(new byte[8]);
    private EventLoop loop;
    private int subscription;
    private List<EventFd> calls = List.of();

    private VhostVsockDevice(Vhost vhost, long guestCid, long kernelFeatures) {
        this.vhost = vhost;
        this.guestCid = guestCid;
        this.kernelFeatures = kernelFeatures;
        config.set(LONG, 0, guestCid);
    }

    /**
     * {@return a device whose connections the kernel serves, with the guest at {@code config}'s CID}
     *
     * @throws IOException if /dev/vhost-vsock is missing or refuses, the CID is taken by another VM, or its rings lack
     *     a feature vmm4j's transport offers
     */
    public static VhostVsockDevice open(VsockConfig config) throws IOException {
        if (!config.vhost() || !config.problems().isEmpty()) {
            throw new IllegalArgumentException("not a vhost-vsock configuration: " + config);
        }
        Vhost vhost = Vhost.open(VHOST_VSOCK);
        try {
            long features = vhost.features();
            if ((features & RING_FEATURES) != RING_FEATURES) {
                throw new IOException(String.format(
                        "%s serves rings with features %#x, without some of %#x (indirect descriptors, event index,"
                                + " virtio 1) that vmm4j's transport offers: use the user-space vsock device",
                        VHOST_VSOCK, features, RING_FEATURES));
            }
            try {
                vhost.setValue(
                        "VHOST_VSOCK_SET_GUEST_CID", LinuxHeaders.VHOST_VSOCK_SET_GUEST_CID(), config.guestCid());
            } catch (IOException e) {
                throw new IOException(
                        "guest CID " + config.guestCid() + " cannot be had (another VM on this host may"
                                + " have it; pick another): " + e.getMessage(),
                        e);
            }
            return new VhostVsockDevice(vhost, config.guestCid(), features);
        } catch (IOException | RuntimeException e) {
            vhost.close();
            throw e;
        }
    }

    @Override
    public int deviceType() {
        return VirtioIds.VSOCK;
    }

    @Override
    public long deviceFeatures() {
        return 0;
    }

    @Override
    public List<Integer> queueMaxSizes() {
        return List.of(VsockDevice.QUEUE_SIZE, VsockDevice.QUEUE_SIZE, VsockDevice.QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, MemorySegment data) {
        data.fill((byte) 0);
        if (offset >= 0 && offset < config.byteSize()) {
            MemorySegment.copy(config, offset, data, 0, Math.min(data.byteSize(), config.byteSize() - offset));
        }
    }

    @Override
    public synchronized void activate(DeviceActivation activation) throws ActivationException {
        for (int queue = 0; queue < 3; queue++) {
            if (!activation.queues().get(queue).isActive()) {
                throw new ActivationException("virtio-vsock needs its receive (0), transmit (1) and event (2) queues"
                        + " set up; queue " + queue + " is not");
            }
        }
        if (loop != null) {
            throw new IllegalStateException("vhost-vsock is already active; reset it first");
        }
        List<EventFd> made = new ArrayList<>();
        try {
            for (int queue = 0; queue < KERNEL_QUEUES; queue++) {
                made.add(EventFd.createNonBlocking());
            }
            // The signals are forwarded before the kernel can raise one.
            subscription = activation.eventLoop().addSubscriber(new UsedSignals(made, activation.interrupt()));
            loop = activation.eventLoop();
            calls = List.copyOf(made);
            vhost.setFeatures(activation.ackedFeatures() & kernelFeatures);
            vhost.setMemoryTable(activation.memory());
            for (int queue = 0; queue < KERNEL_QUEUES; queue++) {
                vhost.setVring(
                        queue,
                        activation.memory(),
                        activation.queues().get(queue),
                        activation.queueEvents().get(queue).fd(),
                        made.get(queue).fd());
            }
            vhost.setValue("VHOST_VSOCK_SET_RUNNING", LinuxHeaders.VHOST_VSOCK_SET_RUNNING(), 1);
        } catch (IOException | RuntimeException e) {
            if (loop != null) {
                reset();
            } else {
                made.forEach(EventFd::close);
            }
            throw new ActivationException("vhost-vsock refused the queues the driver set up: " + e.getMessage());
        }
    }

    /** Stops the kernel's worker and its queues: the kernel touches guest memory no more. */
    @Override
    public synchronized void reset() {
        if (loop == null) {
            return;
        }
        try {
            vhost.setValue("VHOST_VSOCK_SET_RUNNING", LinuxHeaders.VHOST_VSOCK_SET_RUNNING(), 0);
        } catch (IOException e) {
            // Never started: there is nothing to stop; stopping the rings below is what matters.
            System.getLogger(VhostVsockDevice.class.getName()).log(System.Logger.Level.DEBUG, e.getMessage());
        }
        for (int queue = 0; queue < KERNEL_QUEUES; queue++) {
            try {
                vhost.stopVring(queue);
            } catch (IOException e) {
                System.getLogger(VhostVsockDevice.class.getName())
                        .log(System.Logger.Level.DEBUG, "vhost-vsock queue " + queue + ": " + e.getMessage());
            }
        }
        loop.removeSubscriber(subscription);
        loop = null;
        calls.forEach(EventFd::close);
        calls = List.of();
    }

    /** {@return the guest's CID} */
    public long guestCid() {
        return guestCid;
    }

    /** Stops the kernel's worker and closes the vhost fd, freeing the CID. Idempotent. */
    @Override
    public synchronized void close() {
        reset();
        vhost.close();
    }

    @Override
    public String toString() {
        return "VhostVsockDevice[cid " + guestCid + "]";
    }
}
