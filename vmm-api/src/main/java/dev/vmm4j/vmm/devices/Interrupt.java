// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.devices;

import dev.vmm4j.vmm.event.EventFd;
import java.util.Objects;

/**
 * How a device raises its interrupt line: an edge, delivered however the VM wires it (an irqfd, KVM_IRQ_LINE, a test
 * counter).
 *
 * <p><b>Thread safety:</b> implementations must be safe to call from any thread.
 */
@FunctionalInterface
public interface Interrupt {
    /** Raises an edge on the line. */
    void trigger();

    /**
     * {@return an interrupt that writes {@code irqfd}, an eventfd registered with {@code Vm.registerIrqfd}}
     *
     * @param irqfd the eventfd, such as {@link DeviceContext#irqfd} makes; it stays its owner's, and must stay open as
     *     long as the interrupt is triggered
     */
    static Interrupt of(EventFd irqfd) {
        Objects.requireNonNull(irqfd, "irqfd");
        return () -> irqfd.write(1);
    }
}
