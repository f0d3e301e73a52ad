// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vhost;

import dev.vmm4j.virtio.VirtioInterrupt;
import dev.vmm4j.vmm.event.Event;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventOps;
import dev.vmm4j.vmm.event.EventSet;
import dev.vmm4j.vmm.event.EventSubscriber;
import java.util.List;
import java.util.Objects;

/**
 * Forwards a vhost kernel worker's used-buffer signals (one eventfd per queue, in queue order) to the transport's
 * interrupt. A virtio-mmio interrupt must also set the transport's InterruptStatus register, which the kernel cannot
 * do, so the device's event loop turns each signal into a {@link VirtioInterrupt#signalUsed} (what QEMU does for vhost
 * behind virtio-mmio).
 *
 * <p><b>Thread safety:</b> confined to the event loop's thread, as {@link EventSubscriber} says.
 *
 * @param calls the eventfds given to the kernel with VHOST_SET_VRING_CALL, queue {@code i} at index {@code i}
 * @param interrupt the transport's interrupt
 */
record UsedSignals(List<EventFd> calls, VirtioInterrupt interrupt) implements EventSubscriber {
    /** Copies the list. */
    UsedSignals {
        calls = List.copyOf(calls);
        Objects.requireNonNull(interrupt, "interrupt");
    }

    @Override
    public void init(EventOps ops) {
        for (int queue = 0; queue < calls.size(); queue++) {
            ops.add(calls.get(queue).fd(), EventSet.IN, queue);
        }
    }

    @Override
    public void process(Event event, EventOps ops) {
        calls.get(event.data()).read();
        interrupt.signalUsed(event.data());
    }
}
