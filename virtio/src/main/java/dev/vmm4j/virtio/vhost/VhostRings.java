// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vhost;

import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The first {@code count} queues of an activated device, handed to a vhost kernel worker: the accepted features and
 * the memory table set, each ring's size, addresses and base, KVM's ioeventfd as its kick and an eventfd of its own as
 * its call, forwarded to the transport's interrupt by {@link UsedSignals} on the device's event loop. What is
 * device-specific (vhost-net's backend, vhost-vsock's running flag) the device does after {@link #start} and before
 * {@link #close}.
 *
 * <p><b>Ownership:</b> owns the call eventfds and the subscription; {@link #close()} stops the rings first.
 *
 * <p><b>Thread safety:</b> not thread-safe; the device calls it under its own lock.
 */
public final class VhostRings implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VhostRings.class.getName());

    private final Vhost vhost;
    private final EventLoop loop;
    private final List<EventFd> calls;
    private final int subscription;
    private boolean closed;

    private VhostRings(Vhost vhost, EventLoop loop, List<EventFd> calls, int subscription) {
        this.vhost = vhost;
        this.loop = loop;
        this.calls = calls;
        this.subscription = subscription;
    }

    /**
     * {@return the first {@code count} queues of {@code activation} served by {@code vhost}, with {@code features} (the
     * accepted ones the kernel knows)} On failure nothing is left behind: the rings are stopped and the eventfds closed.
     *
     * @param vhost the opened vhost device; the caller keeps owning it (closing the rings does not close it)
     * @param activation the device's activation: its guest memory, queues, queue eventfds (the kicks), interrupt and
     *     event loop
     * @param count how many queues, from the first, the kernel serves: 1 to the number of queues
     * @param features the feature bits to set, the driver's accepted ones masked to those {@link Vhost#features()}
     *     reports
     * @throws IOException if the kernel refuses a step
     * @throws IndexOutOfBoundsException if {@code count} is not between 1 and the number of queues
     */
    public static VhostRings start(Vhost vhost, DeviceActivation activation, int count, long features)
            throws IOException {
        Objects.requireNonNull(vhost, "vhost");
        Objects.requireNonNull(activation, "activation");
        Objects.checkIndex(count - 1, activation.queues().size());
        List<EventFd> calls = new ArrayList<>();
        VhostRings rings = null;
        try {
            for (int queue = 0; queue < count; queue++) {
                calls.add(EventFd.createNonBlocking());
            }
            // The signals are forwarded before the kernel can raise one.
            int subscription = activation.eventLoop().addSubscriber(new UsedSignals(calls, activation.interrupt()));
            rings = new VhostRings(vhost, activation.eventLoop(), List.copyOf(calls), subscription);
            vhost.setFeatures(features);
            vhost.setMemoryTable(activation.memory());
            for (int queue = 0; queue < count; queue++) {
                vhost.setVring(
                        queue,
                        activation.memory(),
                        activation.queues().get(queue),
                        activation.queueEvents().get(queue).fd(),
                        calls.get(queue).fd());
            }
            return rings;
        } catch (IOException | RuntimeException e) {
            // Whatever failed, the kernel lets go of guest memory and the loop forgets the signals before this returns.
            if (rings != null) {
                rings.close();
            } else {
                calls.forEach(EventFd::close);
            }
            throw e;
        }
    }

    /** {@return how many rings the kernel serves} */
    public int count() {
        return calls.size();
    }

    /** Stops the rings (the kernel touches guest memory no more) and the forwarding of their signals. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (int queue = 0; queue < calls.size(); queue++) {
            try {
                vhost.stopVring(queue);
            } catch (IOException e) {
                // A ring never handed over has nothing to stop; closing the vhost fd stops everything anyway.
                LOG.log(System.Logger.Level.DEBUG, vhost + " ring " + queue + ": " + e.getMessage());
            }
        }
        loop.removeSubscriber(subscription);
        calls.forEach(EventFd::close);
    }

    @Override
    public String toString() {
        return "VhostRings[" + calls.size() + " rings of " + vhost + (closed ? ", closed" : "") + "]";
    }
}
