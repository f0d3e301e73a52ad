// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.boot;

/**
 * crosvm's aarch64 guest-physical layout:
 *
 * <pre>
 *  0x0000_2000  RTC (PL031), 4 KiB, SPI 1
 *  0x0000_03f8  16550 UART, 8 bytes, SPI 0
 *  0x0101_0000  virtio-mmio windows (4 KiB each), SPIs from 2
 *  below 0x4000_0000: the GIC (v3: distributor, then one 128 KiB redistributor per vCPU below it;
 *                                v2: distributor, then the CPU interface below it)
 *  0x8000_0000  RAM; the kernel at a 2 MiB-aligned base + text_offset, the initrd after it, the device tree in the
 *               last 2 MiB
 * </pre>
 */
public final class AArch64Layout {
    /** Guest-physical address where RAM starts. */
    public static final long RAM_BASE = 0x8000_0000L;
    /** Guest-physical address of the 16550 UART's registers. */
    public static final long SERIAL_BASE = 0x3f8;
    /** Size in bytes of the UART's register window. */
    public static final long SERIAL_SIZE = 8;
    /** The UART's interrupt, as an SPI number counted from 0. */
    public static final int SERIAL_SPI = 0;
    /** Guest-physical address of the PL031 RTC's registers. */
    public static final long RTC_BASE = 0x2000;
    /** Size in bytes of the RTC's register window. */
    public static final long RTC_SIZE = 0x1000;
    /** The RTC's interrupt, as an SPI number counted from 0. */
    public static final int RTC_SPI = 1;
    /** Guest-physical address where the virtio-mmio windows start. */
    public static final long MMIO_BASE = 0x0101_0000L;
    /** Size in bytes of the virtio-mmio area, which ends at 0x3000_0000. */
    public static final long MMIO_SIZE = 0x3000_0000L - MMIO_BASE;
    /** The first SPI a virtio device gets. */
    public static final int FIRST_DEVICE_SPI = 2;
    /** SPIs are interrupt numbers 32 and up in the GIC; the device tree names them from 0. */
    public static final int SPI_BASE = 32;

    /** Size in bytes of the GIC distributor's window. */
    public static final long GIC_DIST_SIZE = 0x1_0000;
    /** Guest-physical address of the GIC distributor, which ends at 0x4000_0000. */
    public static final long GIC_DIST_BASE = 0x4000_0000L - GIC_DIST_SIZE;
    /** Size in bytes of the GICv2 CPU interface, just below the distributor. */
    public static final long GIC_CPU_SIZE = 0x2_0000;
    /** Size in bytes of one vCPU's GICv3 redistributor. */
    public static final long GIC_REDIST_SIZE_PER_CPU = 0x2_0000;
    /** The device tree's room at the end of RAM: the boot protocol allows at most 2 MiB. */
    public static final long FDT_MAX_SIZE = 2L << 20;

    private AArch64Layout() {}

    /** {@return the base of the GICv2 CPU interface} */
    public static long gicCpuBase() {
        return GIC_DIST_BASE - GIC_CPU_SIZE;
    }

    /**
     * {@return the base of the GICv3 redistributors for {@code vcpus} vCPUs}
     *
     * @param vcpus the VM's vCPU count, 1 or more (not checked); each takes {@link #GIC_REDIST_SIZE_PER_CPU} below
     *     the distributor
     */
    public static long gicRedistributorBase(int vcpus) {
        return GIC_DIST_BASE - GIC_REDIST_SIZE_PER_CPU * vcpus;
    }

    /**
     * {@return where the device tree goes in {@code memoryBytes} of RAM: the last 2 MiB}
     *
     * @param memoryBytes the RAM from {@link #RAM_BASE}; more than {@link #FDT_MAX_SIZE} (not checked)
     */
    public static long fdtAddress(long memoryBytes) {
        return RAM_BASE + memoryBytes - FDT_MAX_SIZE;
    }
}
