// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.devices;

import java.io.IOException;
import java.util.List;

/**
 * A device that attaches itself to a VM while {@code VirtualMachineBuilder.build()} sets the VM up: it takes an
 * address range and an interrupt line from the {@link DeviceContext}, puts itself on a bus, gets the eventfds it needs,
 * and tells the guest where it is with {@link DeviceContext#announce}. vmm4j's virtio devices attach this way (see
 * {@code dev.vmm4j.virtio.mmio.VirtioMmio}); so does a device a library user writes.
 *
 * <h2>Order</h2>
 * {@code build()} first asks every device for {@link #checkConfiguration()} problems (before it opens KVM, so that
 * they are all reported at once), then attaches the devices in the order they were added to the builder, after the
 * architecture's platform devices and before the kernel is loaded, so that what they announce reaches the kernel.
 *
 * <h2>Ownership</h2>
 * A device given to the builder belongs to it, and then to the VM it builds: the VM calls {@link #close()} once, after
 * every vCPU and device thread has stopped and before guest memory is unmapped. If {@code build()} fails, it closes
 * every device it was given, attached or not, before it throws. So a device never has to be closed by the code that
 * made it once it was added to a builder.
 *
 * <p><b>Thread safety:</b> {@link #checkConfiguration()} and {@link #attach} are called once each, on the thread that
 * calls {@code build()}; {@link #close()} once, on the thread that closes the VM (or that called {@code build()}).
 */
@FunctionalInterface
public interface VmDevice extends AutoCloseable {
    /**
     * {@return what is wrong with the device's configuration (a file that is missing or not writable), one line per
     * problem a user can act on; none by default} Called before KVM is opened; nothing is opened or locked here.
     */
    default List<String> checkConfiguration() {
        return List.of();
    }

    /**
     * Attaches the device to the VM being built.
     *
     * @param context what the device attaches to: the buses, the allocator, eventfds, and where to announce itself and
     *     register what the VM must close; valid while the VM is built (its thread factory and {@code requestExit} as
     *     long as the VM lives)
     * @throws IOException if a file the device needs cannot be opened or locked; the message says which and why
     * @throws IllegalStateException if the VM has no room for the device (no address range or interrupt left)
     */
    void attach(DeviceContext context) throws IOException;

    /** Releases what the device holds (image files, locks). The default does nothing. */
    @Override
    default void close() {}
}
