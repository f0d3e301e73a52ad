// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio;

import dev.vmm4j.vmm.event.EventLoop;
import java.util.Objects;

/**
 * The queue handlers a device has on its event loop while it is active: {@link #serve} on activation, {@link #stop}
 * on reset, after which none of them runs again.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class ServedQueues {
    private EventLoop loop;
    private int[] subscriptions = new int[0];

    /** Serving nothing yet. */
    public ServedQueues() {}

    /**
     * Starts serving {@code handlers} on {@code eventLoop}.
     *
     * @param eventLoop the loop to add the handlers to as subscribers; {@link #stop} removes them from it
     * @param handlers the handlers, one per queue the device serves; none may be null
     * @throws IllegalStateException if already serving (call {@link #stop} first)
     * @throws RuntimeException what adding a handler threw (such as a {@code NativeCallException} from
     *     {@code epoll_ctl}), after the handlers added before it were removed again: then nothing is served
     */
    public synchronized void serve(EventLoop eventLoop, QueueHandler... handlers) {
        Objects.requireNonNull(eventLoop, "eventLoop");
        if (loop != null) {
            throw new IllegalStateException("already serving " + subscriptions.length + " queues; stop() first");
        }
        int[] added = new int[handlers.length];
        for (int i = 0; i < handlers.length; i++) {
            try {
                added[i] = eventLoop.addSubscriber(handlers[i]);
            } catch (RuntimeException e) {
                for (int j = 0; j < i; j++) {
                    try {
                        eventLoop.removeSubscriber(added[j]); // none may stay subscribed with nothing to stop it
                    } catch (RuntimeException undo) {
                        e.addSuppressed(undo); // the first failure is the one to report; try to remove the rest
                    }
                }
                throw e;
            }
        }
        loop = eventLoop;
        subscriptions = added;
    }

    /** Stops serving; when it returns, no handler runs (a batch in progress has finished). Idempotent. */
    public synchronized void stop() {
        if (loop != null) {
            for (int subscription : subscriptions) {
                loop.removeSubscriber(subscription);
            }
            loop = null;
            subscriptions = new int[0];
        }
    }
}
