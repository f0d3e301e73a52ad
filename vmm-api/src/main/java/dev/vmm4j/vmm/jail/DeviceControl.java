// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

/**
 * A device's own operations beyond its registers (a balloon's target, say), numbered so that they can cross to the
 * device process as a {@link BusProxy#control} call. Implemented by what the device process serves next to the bus
 * device; the numbers are the device's business.
 *
 * <p><b>Thread safety:</b> called on the device process's proxy thread, concurrently with the device's own threads.
 */
@FunctionalInterface
public interface DeviceControl {
    /**
     * {@return the result of operation {@code selector} with {@code argument}}
     *
     * @throws IllegalArgumentException if the device has no such operation or the argument is out of range; the
     *     parent's caller gets a {@link DeviceProcessException} with the message
     */
    long call(int selector, long argument);
}
