// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64;

import dev.vmm4j.vmm.devices.DeviceNode;
import java.util.Locale;

/**
 * How an x86 guest without ACPI learns of devices: on the kernel command line. Linux has a syntax there only for
 * virtio-mmio ({@code virtio_mmio.device=<size>@<base>:<irq>}, with {@code CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES}), as
 * crosvm and Firecracker use it.
 */
final class CommandLineDevices {
    /** The compatible string of a virtio-mmio window (virtio's own name for it, in device trees). */
    static final String VIRTIO_MMIO = "virtio,mmio";

    private CommandLineDevices() {}

    /**
     * {@return the parameter that announces {@code device}, such as {@code virtio_mmio.device=4K@0xd0000000:5}}
     *
     * @throws IllegalArgumentException if x86 guests cannot be told of such a device on the command line
     */
    static String parameter(DeviceNode device) {
        return switch (device) {
            case DeviceNode.Mmio mmio
            when mmio.compatible().equals(VIRTIO_MMIO) -> {
                String size = mmio.size() % (1L << 20) == 0 ? (mmio.size() >> 20) + "M" : (mmio.size() >> 10) + "K";
                yield String.format(Locale.ROOT, "virtio_mmio.device=%s@%#x:%d", size, mmio.base(), mmio.interrupt());
            }
            case DeviceNode.Mmio mmio ->
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "an x86 guest cannot be told of the \"%s\" device at %#x: Linux finds MMIO devices on its command line"
                                + " only for \"%s\"",
                        mmio.compatible(),
                        mmio.base(),
                        VIRTIO_MMIO));
        };
    }
}
