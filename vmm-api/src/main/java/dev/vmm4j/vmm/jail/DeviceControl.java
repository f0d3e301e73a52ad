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
     * @param selector which operation, as the device numbers them
     * @param argument the operation's argument, as the VMM's caller passed it
     * @throws IllegalArgumentException if the device has no such operation or the argument is out of range; the
     *     message is logged in the device process, and the parent's caller gets a {@link DeviceProcessException} that
     *     names the selector and the argument (any other runtime exception is answered the same way)
     */
    long call(int selector, long argument);
}
