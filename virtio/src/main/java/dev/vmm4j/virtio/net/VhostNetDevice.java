// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

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
import java.util.Objects;
import java.util.Optional;

/**
 * The virtio network device with the host kernel's vhost-net moving the frames (crosvm's {@code --vhost-net}): the
 * same device as {@link NetDevice} to the guest, but the kernel serves both queues, reading the guest's kicks from
 * KVM's ioeventfds and the tap directly, so no frame passes through the JVM.
 *
 * <p>The kernel signals used buffers on an eventfd per queue, which {@link VhostRings} turns into the transport's
 * interrupts.
 *
 * <p><b>Ownership:</b> owns the tap and the vhost fd; {@link #close()} closes both.
 *
 * <p><b>Thread safety:</b> see {@link VirtioDevice}.
 */
public final class VhostNetDevice implements VirtioDevice, AutoCloseable {
    /** Where the host kernel offers vhost-net. */
    public static final Path VHOST_NET = Path.of("/dev/vhost-net");

    /** The ring features vmm4j's transport always offers; the kernel must serve rings with them. */
    private static final long RING_FEATURES =
            (1L << 28) | (1L << 29) | (1L << 32); // INDIRECT_DESC, EVENT_IDX, VERSION_1

    private final Tap tap;
    private final Vhost vhost;
    private final long kernelFeatures;
    private final NetConfigSpace config;
    private VhostRings rings;

    private VhostNetDevice(Tap tap, Vhost vhost, long kernelFeatures, Optional<MacAddress> mac) {
        this.tap = tap;
        this.vhost = vhost;
        this.kernelFeatures = kernelFeatures;
        this.config = new NetConfigSpace(mac);
    }

    /**
     * {@return a device whose frames the kernel moves between the guest and {@code tap}} The device owns the tap from
     * here, also when this fails.
     *
     * @param tap the tap, already configured; the device owns it from now on and closes it even if this throws
     * @param mac the address shown in configuration space, or empty for the driver to make one up
     * @throws IOException if /dev/vhost-net is missing or refuses, or its rings lack a feature vmm4j's transport offers
     */
    public static VhostNetDevice open(Tap tap, Optional<MacAddress> mac) throws IOException {
        Objects.requireNonNull(tap, "tap");
        Objects.requireNonNull(mac, "mac");
        Vhost vhost = null;
        try {
            vhost = Vhost.open(VHOST_NET);
            long features = vhost.features();
            if ((features & RING_FEATURES) != RING_FEATURES) {
                throw new IOException(String.format(
                        "%s serves rings with features %#x, without some of %#x (indirect descriptors, event index,"
                                + " virtio 1) that vmm4j's transport offers: use the user-space network device",
                        VHOST_NET, features, RING_FEATURES));
            }
            return new VhostNetDevice(tap, vhost, features, mac);
        } catch (IOException | RuntimeException e) {
            if (vhost != null) {
                vhost.close();
            }
            tap.close();
            throw e;
        }
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
        return List.of(NetDevice.QUEUE_SIZE, NetDevice.QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, MemorySegment data) {
        config.read(offset, data);
    }

    @Override
    public synchronized void activate(DeviceActivation activation) throws ActivationException {
        if (!activation.queues().get(0).isActive()
                || !activation.queues().get(1).isActive()) {
            throw new ActivationException("virtio-net needs both its receive (0) and transmit (1) queues set up");
        }
        if (rings != null) {
            throw new IllegalStateException("vhost-net is already active; reset it first");
        }
        try {
            tap.setOffload(NetFeatures.tapOffload(activation.ackedFeatures()));
            // The kernel knows ring and header features only; the offloads are the tap's business.
            rings = VhostRings.start(vhost, activation, 2, activation.ackedFeatures() & kernelFeatures);
            for (int queue = 0; queue < 2; queue++) {
                vhost.vringFile("VHOST_NET_SET_BACKEND", LinuxHeaders.VHOST_NET_SET_BACKEND(), queue, tap.fd());
            }
        } catch (IOException | RuntimeException e) {
            reset();
            throw new ActivationException("vhost-net refused the queues the driver set up: " + e.getMessage());
        }
    }

    /** Detaches the tap from both queues and stops them: the kernel touches guest memory no more. */
    @Override
    public synchronized void reset() {
        if (rings == null) {
            return;
        }
        for (int queue = 0; queue < 2; queue++) {
            try {
                vhost.vringFile("VHOST_NET_SET_BACKEND", LinuxHeaders.VHOST_NET_SET_BACKEND(), queue, -1);
            } catch (IOException e) {
                // A queue never given the tap has none to take back; stopping the rings is what matters.
                System.getLogger(VhostNetDevice.class.getName())
                        .log(System.Logger.Level.DEBUG, "vhost-net queue " + queue + ": " + e.getMessage());
            }
        }
        rings.close();
        rings = null;
    }

    /** {@return the MAC address the device shows the driver, if it has one} */
    public Optional<MacAddress> mac() {
        return config.mac();
    }

    /** Stops the kernel's worker and closes the tap. Idempotent. */
    @Override
    public synchronized void close() {
        reset();
        try {
            vhost.close();
        } finally {
            tap.close();
        }
    }

    @Override
    public String toString() {
        return "VhostNetDevice[" + tap + config.mac().map(mac -> ", mac " + mac).orElse("") + "]";
    }
}
