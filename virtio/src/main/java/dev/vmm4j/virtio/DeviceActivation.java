// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio;

import dev.vmm4j.virtio.queue.SplitQueue;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.memory.GuestMemory;
import java.util.List;
import java.util.Objects;

/**
 * What a {@link VirtioDevice} gets when the driver has set it up: guest memory; the features both sides accepted;
 * its queues (active where the driver made them ready) with, for each, the eventfd the driver's notifications arrive
 * on; the interrupt to report used buffers and configuration changes; and the event loop to serve them on.
 *
 * @param memory the guest's memory
 * @param ackedFeatures the feature bits the driver accepted
 * @param queues the queues in order; {@link SplitQueue#isActive()} says which the driver set up
 * @param queueEvents for each queue, the eventfd that becomes readable when the driver notifies it
 * @param interrupt how to tell the driver about used buffers, configuration changes and a broken device
 * @param eventLoop the loop (one thread per device) to register the queue events with; the device removes what it
 *     added on {@link VirtioDevice#reset()}
 */
public record DeviceActivation(
        GuestMemory memory,
        long ackedFeatures,
        List<SplitQueue> queues,
        List<EventFd> queueEvents,
        VirtioInterrupt interrupt,
        EventLoop eventLoop) {
    /** Checks the arguments and copies the lists. */
    public DeviceActivation {
        Objects.requireNonNull(memory, "memory");
        Objects.requireNonNull(interrupt, "interrupt");
        Objects.requireNonNull(eventLoop, "eventLoop");
        queues = List.copyOf(queues);
        queueEvents = List.copyOf(queueEvents);
    }

    /**
     * {@return whether the driver accepted feature {@code bit}}
     *
     * @param bit the feature bit number, 0 to 63 (not checked: Java takes the shift count modulo 64)
     */
    public boolean hasFeature(int bit) {
        return (ackedFeatures & (1L << bit)) != 0;
    }
}
