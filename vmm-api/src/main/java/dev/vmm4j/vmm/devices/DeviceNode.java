// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.devices;

import java.util.Locale;
import java.util.Objects;

/**
 * How the guest finds a device, in terms no transport or architecture owns: what a device announces with
 * {@link DeviceContext#announce}, and what the architecture renders the way its guests discover devices (x86: on the
 * kernel command line; aarch64: as a device-tree node; with ACPI, as a device in the DSDT).
 */
public sealed interface DeviceNode {
    /** {@return the device-tree {@code compatible} string that says what the device is, such as {@code virtio,mmio}} */
    String compatible();

    /**
     * A memory-mapped device: a register window of {@code size} bytes at guest-physical {@code base}, raising interrupt
     * line {@code interrupt} (an IOAPIC pin on x86, an SPI number on aarch64).
     *
     * @param compatible what the device is, as a device tree's {@code compatible} says it; not blank
     * @param base guest-physical address of the window, 4 KiB-aligned; {@code base + size} must not overflow a
     *     {@code long}
     * @param size the window's length in bytes, positive and a multiple of 4 KiB
     * @param interrupt the interrupt line, 0 or more, as the allocator numbers it
     */
    record Mmio(String compatible, long base, long size, int interrupt) implements DeviceNode {
        /** Checks that the window is page-aligned, not empty and not wrapping, and that the line is not negative. */
        public Mmio {
            Objects.requireNonNull(compatible, "compatible");
            if (compatible.isBlank()
                    || size <= 0
                    || (base & 0xfff) != 0
                    || (size & 0xfff) != 0
                    || interrupt < 0
                    || base + size < base) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "an MMIO device needs a compatible string, a page-aligned window inside the address space and an"
                                + " interrupt line >= 0: \"%s\" at %#x+%#x, interrupt %d",
                        compatible,
                        base,
                        size,
                        interrupt));
            }
        }
    }
}
