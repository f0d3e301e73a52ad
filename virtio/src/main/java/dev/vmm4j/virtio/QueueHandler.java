// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio;

import dev.vmm4j.virtio.queue.DescriptorChain;
import dev.vmm4j.virtio.queue.QueueException;
import dev.vmm4j.virtio.queue.SplitQueue;
import dev.vmm4j.vmm.event.Event;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventOps;
import dev.vmm4j.vmm.event.EventSet;
import dev.vmm4j.vmm.event.EventSubscriber;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.util.Objects;

/**
 * Serves one queue on an event loop: when the driver notifies (the queue's eventfd becomes readable) it drains the
 * available ring, hands each chain to a {@link ChainServer}, returns the chain through the used ring, and interrupts
 * the driver if it asked for it. The loop every vmm4j device runs, for devices of your own too.
 *
 * <p>A malformed chain is returned unused (0 bytes written) without reaching the server. A server that throws loses
 * that request only: the chain is returned unused and the error logged. A broken queue ({@link QueueException}) puts
 * the device in DEVICE_NEEDS_RESET and this handler stops serving the queue until the device is reset.
 *
 * <p><b>Thread safety:</b> confined to the event loop's thread.
 */
public final class QueueHandler implements EventSubscriber {
    private static final System.Logger LOG = System.getLogger(QueueHandler.class.getName());

    /** What a device does with one valid chain. */
    @FunctionalInterface
    public interface ChainServer {
        /**
         * Serves {@code chain}.
         *
         * @param chain a chain that passed {@link DescriptorChain#isValid()}; the handler's reusable cursor, valid only
         *     until this method returns
         * @return the bytes written to its device-writable buffers
         * @throws GuestMemoryException only if guest memory is gone, which a validated chain rules out
         */
        long serve(DescriptorChain chain) throws GuestMemoryException;
    }

    private final String name;
    private final int queueIndex;
    private final SplitQueue queue;
    private final EventFd notification;
    private final VirtioInterrupt interrupt;
    private final ChainServer server;
    private final DescriptorChain chain;
    private boolean broken;
    private long malformedChains;

    /**
     * A handler serving queue {@code queueIndex} of device {@code name} (for logs), notified through
     * {@code notification}.
     *
     * @param name the device's name, used only in log messages and the DEVICE_NEEDS_RESET reason
     * @param queueIndex the queue's index in the device, passed to {@link VirtioInterrupt#signalUsed} and used as the
     *     event loop's token for the notification; not checked
     * @param queue the queue to serve; the handler takes a chain cursor from it now
     * @param notification the eventfd the driver's notifications for this queue arrive on; registered by
     *     {@link #init}, read (cleared) on each event
     * @param interrupt how to tell the driver about used buffers, or that the queue broke
     * @param server what to do with each valid chain; called on the event loop's thread
     * @throws NullPointerException if any argument is null
     */
    public QueueHandler(
            String name,
            int queueIndex,
            SplitQueue queue,
            EventFd notification,
            VirtioInterrupt interrupt,
            ChainServer server) {
        this.name = Objects.requireNonNull(name, "name");
        this.queueIndex = queueIndex;
        this.queue = Objects.requireNonNull(queue, "queue");
        this.notification = Objects.requireNonNull(notification, "notification");
        this.interrupt = Objects.requireNonNull(interrupt, "interrupt");
        this.server = Objects.requireNonNull(server, "server");
        this.chain = queue.newChain();
    }

    /**
     * {@return a handler serving queue {@code queueIndex} of an activated device {@code name}} The queue, its
     * notification and the interrupt are the activation's.
     *
     * @param name the device's name, used only in log messages and the DEVICE_NEEDS_RESET reason
     * @param activation what the device got from {@link VirtioDevice#activate}
     * @param queueIndex the queue's index in the device, from 0
     * @param server what to do with each valid chain; called on the event loop's thread
     * @throws NullPointerException if {@code name}, {@code activation} or {@code server} is null
     * @throws IndexOutOfBoundsException if the device has no queue {@code queueIndex}
     */
    public static QueueHandler forQueue(String name, DeviceActivation activation, int queueIndex, ChainServer server) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(activation, "activation");
        Objects.requireNonNull(server, "server");
        Objects.checkIndex(queueIndex, activation.queues().size());
        return new QueueHandler(
                name,
                queueIndex,
                activation.queues().get(queueIndex),
                activation.queueEvents().get(queueIndex),
                activation.interrupt(),
                server);
    }

    @Override
    public void init(EventOps ops) {
        ops.add(notification.fd(), EventSet.IN, queueIndex);
    }

    @Override
    public void process(Event event, EventOps ops) {
        notification.read();
        drain();
        if (broken) {
            ops.remove(notification.fd());
        }
    }

    /**
     * Serves every available chain, then interrupts the driver if it wants to be told.
     *
     * @return the chains taken
     */
    public int drain() {
        if (broken) {
            return 0;
        }
        int served = 0;
        try {
            do {
                queue.disableNotification();
                while (queue.popChain(chain)) {
                    queue.addUsed(chain.head(), serveOne());
                    served++;
                }
            } while (queue.enableNotification());
        } catch (QueueException e) {
            broken = true;
            interrupt.signalNeedsReset(name + " queue " + queueIndex + ": " + e.getMessage());
        }
        if (served > 0 && queue.needsNotification()) {
            interrupt.signalUsed(queueIndex);
        }
        return served;
    }

    private long serveOne() {
        if (!chain.isValid()) {
            malformedChains++;
            LOG.log(
                    System.Logger.Level.DEBUG,
                    () -> name + " queue " + queueIndex + ": returned a malformed chain unused: " + chain);
            return 0;
        }
        try {
            return server.serve(chain);
        } catch (GuestMemoryException | RuntimeException e) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    name + " queue " + queueIndex + ": request at head " + chain.head() + " failed",
                    e);
            return 0;
        }
    }

    /** {@return whether the queue broke (and the device needs a reset)} */
    public boolean isBroken() {
        return broken;
    }

    /** {@return how many malformed chains were returned unused} */
    public long malformedChains() {
        return malformedChains;
    }
}
