package dev.vmm4j.vmm;

import java.io.IOException;

/**
 * A device that attaches itself to a VM while {@link VirtualMachineBuilder#build()} sets the VM up: it takes an
 * address range and an interrupt line from the {@link DeviceContext}, puts itself on a bus, wires its eventfds into
 * KVM, and hands the context what must be closed when the VM ends. vmm4j's virtio devices attach this way (see
 * {@code dev.vmm4j.virtio.mmio.VirtioMmio}); so does a device a library user writes.
 *
 * <p>Devices attach in the order they were added to the builder, after the architecture's platform devices, and
 * before the kernel is loaded, so that what they announce reaches the kernel's command line (or device tree).
 *
 * <p><b>Thread safety:</b> {@link #attach} is called once, on the thread that calls {@code build()}.
 */
@FunctionalInterface
public interface VmDevice {
    /**
     * Attaches the device to the VM being built.
     *
     * @throws IOException if a file the device needs cannot be opened or locked; the message says which and why
     * @throws IllegalStateException if the VM has no room for the device (no address range or interrupt left)
     */
    void attach(DeviceContext context) throws IOException;
}
