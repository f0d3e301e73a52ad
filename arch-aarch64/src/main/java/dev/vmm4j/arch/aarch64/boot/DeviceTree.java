// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.boot;

import dev.vmm4j.arch.aarch64.fdt.FdtWriter;
import dev.vmm4j.vmm.devices.DeviceNode;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * crosvm's device tree for an aarch64 guest: root {@code linux,dummy-virt}, {@code chosen} (bootargs, initrd range,
 * stdout-path), memory, cpus with PSCI 0.2 as enable-method, the GIC (v3 or v2) with its ranges, the architected timer's
 * four PPIs, the 16550 UART, the PL031 RTC with its clock, and one node per device the VM's devices announced
 * ({@code virtio_mmio@...} with {@code dma-coherent} for each virtio-mmio window, as crosvm writes them).
 */
public final class DeviceTree {
    /** Which GIC the VM has: v3 when KVM offers it, else v2. */
    public enum GicVersion {
        /** GICv2: a distributor and a CPU interface. */
        V2,
        /** GICv3: a distributor and one redistributor per vCPU. */
        V3
    }

    /**
     * What the tree describes.
     *
     * @param memoryBytes RAM from {@link AArch64Layout#RAM_BASE}, more than the device tree's 2 MiB at its end
     * @param vcpus how many vCPUs, 1 or more; at most 8 with a GICv2
     * @param bootargs the kernel command line, written to {@code /chosen/bootargs}
     * @param initrd the initrd's start and size in guest memory, if there is one
     * @param gic which GIC the VM has, as KVM created it
     * @param devices what the devices announced; an MMIO device's interrupt is its SPI number
     */
    public record Spec(
            long memoryBytes,
            int vcpus,
            String bootargs,
            Optional<long[]> initrd,
            GicVersion gic,
            List<DeviceNode> devices) {
        /**
         * Checks the values.
         *
         * @throws IllegalArgumentException if there is no RAM beyond 2 MiB, no vCPU, or more than 8 with a GICv2
         */
        public Spec {
            Objects.requireNonNull(bootargs, "bootargs");
            Objects.requireNonNull(initrd, "initrd");
            Objects.requireNonNull(gic, "gic");
            Objects.requireNonNull(devices, "devices");
            if (memoryBytes <= AArch64Layout.FDT_MAX_SIZE || vcpus < 1) {
                throw new IllegalArgumentException("a device tree needs memory beyond 2 MiB and at least one vCPU");
            }
            if (gic == GicVersion.V2 && vcpus > 8) {
                throw new IllegalArgumentException("a GICv2 serves at most 8 vCPUs, not " + vcpus);
            }
            devices = List.copyOf(devices);
        }
    }

    /** The compatible string of a virtio-mmio window. */
    static final String VIRTIO_MMIO = "virtio,mmio";

    static final int GIC_FDT_IRQ_TYPE_SPI = 0;
    static final int GIC_FDT_IRQ_TYPE_PPI = 1;
    static final int IRQ_TYPE_EDGE_RISING = 1;
    static final int IRQ_TYPE_LEVEL_HIGH = 4;
    /** The architected timer's PPIs: secure, non-secure, virtual, hypervisor. */
    static final int[] TIMER_PPIS = {13, 14, 11, 10};

    static final int UART_CLOCK_HZ = 1_843_200;
    static final int APB_CLOCK_HZ = 24_000_000;
    static final int PL031_PERIPHERAL_ID = 0x0004_1031;

    private DeviceTree() {}

    /**
     * {@return the blob for {@code spec}}
     *
     * @param spec what to describe, already checked when it was made
     */
    public static byte[] write(Spec spec) {
        FdtWriter fdt = new FdtWriter();
        int gicPhandle = fdt.allocatePhandle();
        int clockPhandle = fdt.allocatePhandle();
        fdt.beginNode("");
        fdt.property("compatible", "linux,dummy-virt");
        fdt.property("#address-cells", 2);
        fdt.property("#size-cells", 2);
        fdt.property("interrupt-parent", gicPhandle);

        fdt.beginNode("chosen");
        fdt.property("bootargs", spec.bootargs());
        fdt.property("stdout-path", serialNodeName());
        spec.initrd().ifPresent(range -> {
            fdt.property("linux,initrd-start", range[0]);
            fdt.property("linux,initrd-end", range[0] + range[1]);
        });
        fdt.endNode();

        fdt.beginNode(String.format(Locale.ROOT, "memory@%x", AArch64Layout.RAM_BASE));
        fdt.property("device_type", "memory");
        fdt.property("reg", new long[] {AArch64Layout.RAM_BASE, spec.memoryBytes()});
        fdt.endNode();

        fdt.beginNode("cpus");
        fdt.property("#address-cells", 1);
        fdt.property("#size-cells", 0);
        for (int cpu = 0; cpu < spec.vcpus(); cpu++) {
            fdt.beginNode("cpu@" + Integer.toHexString(cpu));
            fdt.property("device_type", "cpu");
            fdt.property("compatible", "arm,arm-v8");
            fdt.property("enable-method", "psci");
            fdt.property("reg", cpu);
            fdt.endNode();
        }
        fdt.endNode();

        fdt.beginNode("psci");
        fdt.propertyStrings("compatible", "arm,psci-0.2");
        fdt.property("method", "hvc");
        fdt.endNode();

        writeGic(fdt, spec, gicPhandle);

        fdt.beginNode("timer");
        fdt.property("compatible", "arm,armv8-timer");
        int timerFlags = IRQ_TYPE_LEVEL_HIGH;
        if (spec.gic() == GicVersion.V2) {
            timerFlags |= ((1 << spec.vcpus()) - 1) << 8; // GICv2 PPIs name the CPUs they reach
        }
        int[] timer = new int[3 * TIMER_PPIS.length];
        for (int i = 0; i < TIMER_PPIS.length; i++) {
            timer[3 * i] = GIC_FDT_IRQ_TYPE_PPI;
            timer[3 * i + 1] = TIMER_PPIS[i];
            timer[3 * i + 2] = timerFlags;
        }
        fdt.property("interrupts", timer);
        fdt.property("always-on");
        fdt.endNode();

        fdt.beginNode("apb-pclk");
        fdt.property("compatible", "fixed-clock");
        fdt.property("#clock-cells", 0);
        fdt.property("clock-frequency", APB_CLOCK_HZ);
        fdt.property("clock-output-names", "clk24mhz");
        fdt.property("phandle", clockPhandle);
        fdt.endNode();

        fdt.beginNode(serialNodeName().substring(1));
        fdt.property("compatible", "ns16550a");
        fdt.property("reg", new long[] {AArch64Layout.SERIAL_BASE, AArch64Layout.SERIAL_SIZE});
        fdt.property("clock-frequency", UART_CLOCK_HZ);
        fdt.property("interrupts", spi(AArch64Layout.SERIAL_SPI));
        fdt.endNode();

        fdt.beginNode(String.format(Locale.ROOT, "rtc@%x", AArch64Layout.RTC_BASE));
        fdt.propertyStrings("compatible", "arm,pl031", "arm,primecell");
        fdt.property("arm,primecell-periphid", PL031_PERIPHERAL_ID);
        fdt.property("reg", new long[] {AArch64Layout.RTC_BASE, AArch64Layout.RTC_SIZE});
        fdt.property("interrupts", spi(AArch64Layout.RTC_SPI));
        fdt.property("clocks", clockPhandle);
        fdt.property("clock-names", "apb_pclk");
        fdt.endNode();

        for (DeviceNode device : spec.devices()) {
            switch (device) {
                case DeviceNode.Mmio mmio -> {
                    boolean virtio = mmio.compatible().equals(VIRTIO_MMIO);
                    fdt.beginNode(String.format(
                            Locale.ROOT, "%s@%x", virtio ? "virtio_mmio" : nodeName(mmio.compatible()), mmio.base()));
                    fdt.property("compatible", mmio.compatible());
                    fdt.property("reg", new long[] {mmio.base(), mmio.size()});
                    fdt.property("interrupts", spi(mmio.interrupt()));
                    if (virtio) {
                        fdt.property("dma-coherent"); // virtio devices see guest memory as the CPUs do
                    }
                    fdt.endNode();
                }
            }
        }
        fdt.endNode();
        return fdt.finish();
    }

    private static void writeGic(FdtWriter fdt, Spec spec, int phandle) {
        fdt.beginNode(String.format(Locale.ROOT, "intc@%x", AArch64Layout.GIC_DIST_BASE));
        if (spec.gic() == GicVersion.V3) {
            fdt.property("compatible", "arm,gic-v3");
            fdt.property("reg", new long[] {
                AArch64Layout.GIC_DIST_BASE,
                AArch64Layout.GIC_DIST_SIZE,
                AArch64Layout.gicRedistributorBase(spec.vcpus()),
                AArch64Layout.GIC_REDIST_SIZE_PER_CPU * spec.vcpus()
            });
        } else {
            fdt.property("compatible", "arm,cortex-a15-gic");
            fdt.property("reg", new long[] {
                AArch64Layout.GIC_DIST_BASE,
                AArch64Layout.GIC_DIST_SIZE,
                AArch64Layout.gicCpuBase(),
                AArch64Layout.GIC_CPU_SIZE
            });
        }
        fdt.property("#interrupt-cells", 3);
        fdt.property("interrupt-controller");
        fdt.property("#address-cells", 2);
        fdt.property("#size-cells", 2);
        fdt.property("phandle", phandle);
        fdt.endNode();
    }

    /**
     * {@return a node name for a device known by {@code compatible}: its model, after the vendor's comma, in the
     * characters node names allow}
     */
    static String nodeName(String compatible) {
        String model = compatible.substring(compatible.indexOf(',') + 1).replaceAll("[^A-Za-z0-9.+_-]", "_");
        return model.isEmpty() ? "device" : model;
    }

    private static int[] spi(int number) {
        return new int[] {GIC_FDT_IRQ_TYPE_SPI, number, IRQ_TYPE_EDGE_RISING};
    }

    /** {@return the UART node's path, which stdout-path names} */
    static String serialNodeName() {
        return String.format(Locale.ROOT, "/U6_16550A@%x", AArch64Layout.SERIAL_BASE);
    }
}
