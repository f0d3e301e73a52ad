// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.virtio.ActivationException;
import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.vhost.Vhost;
import dev.vmm4j.virtio.vhost.VhostRings;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * The virtio socket device with the host kernel's vhost-vsock serving it (crosvm's {@code --cid}): the guest is then
 * an {@code AF_VSOCK} peer of every host process, at its CID. The kernel serves the receive and transmit queues,
 * reading the guest's kicks from KVM's ioeventfds; the event queue stays with vmm4j, which never needs it. Used-buffer
 * signals reach the guest through {@link VhostRings}.
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

    private final Vhost vhost;
    private final long guestCid;
    private final long kernelFeatures;
    private VhostRings rings;

    private VhostVsockDevice(Vhost vhost, long guestCid, long kernelFeatures) {
        this.vhost = vhost;
        this.guestCid = guestCid;
        this.kernelFeatures = kernelFeatures;
    }

    /**
     * {@return a device whose connections the kernel serves, with the guest at {@code config}'s CID}
     *
     * @param config a configuration with vhost on and no other host end ({@link VsockConfig#withVhost})
     * @throws IllegalArgumentException if {@code config} is not for vhost-vsock or has {@link VsockConfig#problems()}
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
        VsockDevice.readConfig(guestCid, offset, data);
    }

    @Override
    public synchronized void activate(DeviceActivation activation) throws ActivationException {
        VsockDevice.requireQueues(activation);
        if (rings != null) {
            throw new IllegalStateException("vhost-vsock is already active; reset it first");
        }
        try {
            rings = VhostRings.start(vhost, activation, KERNEL_QUEUES, activation.ackedFeatures() & kernelFeatures);
            vhost.setValue("VHOST_VSOCK_SET_RUNNING", LinuxHeaders.VHOST_VSOCK_SET_RUNNING(), 1);
        } catch (IOException | RuntimeException e) {
            reset();
            throw new ActivationException("vhost-vsock refused the queues the driver set up: " + e.getMessage());
        }
    }

    /** Stops the kernel's worker and its queues: the kernel touches guest memory no more. */
    @Override
    public synchronized void reset() {
        if (rings == null) {
            return;
        }
        try {
            vhost.setValue("VHOST_VSOCK_SET_RUNNING", LinuxHeaders.VHOST_VSOCK_SET_RUNNING(), 0);
        } catch (IOException e) {
            // Never started: there is nothing to stop; stopping the rings is what matters.
            System.getLogger(VhostVsockDevice.class.getName()).log(System.Logger.Level.DEBUG, e.getMessage());
        }
        rings.close();
        rings = null;
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
