// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.arch;

/**
 * How the guest kernel learns of the devices a VM's devices {@linkplain dev.vmm4j.vmm.devices.DeviceContext#announce
 * announce}: through the machine's firmware tables, or through parameters on its command line. Never both in one boot,
 * since a kernel that reads both would probe each device twice.
 */
public enum DeviceAnnouncement {
    /**
     * The machine's own description: ACPI tables on x86_64 (the DSDT names each virtio-mmio window as
     * {@code LNRO0005}, as Firecracker and QEMU's microvm do), the device tree on aarch64. The default; what stock
     * distribution kernels understand.
     */
    FIRMWARE,
    /**
     * Linux's {@code virtio_mmio.device=<size>@<base>:<irq>} parameters (as crosvm and Firecracker use them), for
     * kernels built with {@code CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES} and without ACPI. On x86_64 the machine then writes
     * no ACPI tables (the MP table describes the CPUs and the IOAPIC, as before); aarch64 always has its device tree
     * and refuses it.
     */
    KERNEL_COMMAND_LINE
}
