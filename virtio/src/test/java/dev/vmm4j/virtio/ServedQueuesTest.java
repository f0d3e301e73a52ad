// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio;

import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.virtio.queue.SplitQueue;
import dev.vmm4j.vmm.event.Event;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.event.EventOps;
import dev.vmm4j.vmm.event.EventSet;
import dev.vmm4j.vmm.event.EventSubscriber;
import org.junit.jupiter.api.Test;

class ServedQueuesTest {
    private static final VirtioInterrupt NO_INTERRUPT = new VirtioInterrupt() {
        @Override
        public void signalUsed(int queueIndex) {}

        @Override
        public void signalConfigChange() {}

        @Override
        public void signalNeedsReset(String reason) {}
    };

    private static QueueHandler handler(int queueIndex, EventFd notification) {
        return new QueueHandler("test", queueIndex, new SplitQueue(16), notification, NO_INTERRUPT, chain -> 0);
    }

    @Test
    void aHandlerThatCannotBeAddedUndoesTheOnesAddedBeforeIt() {
        try (EventLoop loop = EventLoop.create("served-queues-test");
                EventFd first = EventFd.createNonBlocking()) {
            ServedQueues served = new ServedQueues();
            // Both queues notify through the same eventfd: epoll refuses the second (EEXIST).
            assertThrows(NativeCallException.class, () -> served.serve(loop, handler(0, first), handler(1, first)));

            // Nothing is left subscribed: the eventfd is free to watch, and the queues can be served afresh.
            int probe = loop.addSubscriber(new EventSubscriber() {
                @Override
                public void init(EventOps ops) {
                    ops.add(first.fd(), EventSet.IN, 0);
                }

                @Override
                public void process(Event event, EventOps ops) {}
            });
            loop.removeSubscriber(probe);
            served.serve(loop, handler(0, first));
            served.stop();
        }
    }
}
