// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.arch.aarch64.fdt.Dtc;
import dev.vmm4j.vmm.devices.DeviceNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** crosvm's aarch64 device tree, decompiled by dtc without a warning and read back with fdtget. */
@Dtc.Required
class DeviceTreeTest {
    @TempDir
    Path dir;

    private Path write(DeviceTree.GicVersion gic, int vcpus) throws Exception {
        byte[] dtb = DeviceTree.write(new DeviceTree.Spec(
                512L << 20,
                vcpus,
                "console=ttyS0 root=/dev/vda",
                Optional.of(new long[] {0x8800_0000L, 0x10_0000}),
                gic,
                List.of(
                        new DeviceNode.Mmio("virtio,mmio", 0x0101_0000L, 0x1000, 2),
                        new DeviceNode.Mmio("virtio,mmio", 0x0101_1000L, 0x1000, 3),
                        new DeviceNode.Mmio("vendor,my-uart", 0x0101_2000L, 0x1000, 4))));
        return Files.write(dir.resolve(gic + ".dtb"), dtb);
    }

    /** fdtget's answer: strings as text, cells as unsigned decimals. */
    private static String get(Path dtb, String node, String property) throws Exception {
        Dtc.Result text = Dtc.get(dtb, node, property);
        boolean cells = text.status() == 0 && text.out().matches("-?[0-9 -]+");
        Dtc.Result result = cells ? Dtc.get(dtb, "-tu", node, property) : text;
        String[] args = {node, property};
        assertEquals(0, result.status(), String.join(" ", args) + ": " + result.err());
        return result.out();
    }

    @Test
    void gicV3TreeIsValidAndHoldsWhatTheKernelNeeds() throws Exception {
        Path dtb = write(DeviceTree.GicVersion.V3, 2);
        Dtc.Result dts = Dtc.decompile(dtb);
        assertEquals(0, dts.status(), dts.err());
        assertEquals("", dts.err(), "dtc warns about nothing");
        assertEquals("linux,dummy-virt", get(dtb, "/", "compatible"));
        assertEquals("console=ttyS0 root=/dev/vda", get(dtb, "/chosen", "bootargs"));
        assertEquals("/U6_16550A@3f8", get(dtb, "/chosen", "stdout-path"));
        assertEquals("0 2281701376", get(dtb, "/chosen", "linux,initrd-start"));
        assertEquals("0 2282749952", get(dtb, "/chosen", "linux,initrd-end"));
        assertEquals("memory", get(dtb, "/memory@80000000", "device_type"));
        assertEquals("0 2147483648 0 536870912", get(dtb, "/memory@80000000", "reg"));
        assertEquals("psci", get(dtb, "/cpus/cpu@1", "enable-method"));
        assertEquals("1", get(dtb, "/cpus/cpu@1", "reg"));
        assertEquals("arm,psci-0.2", get(dtb, "/psci", "compatible"));
        assertEquals("hvc", get(dtb, "/psci", "method"));
        assertEquals("arm,gic-v3", get(dtb, "/intc@3fff0000", "compatible"));
        // distributor, then two 128 KiB redistributors below it
        assertEquals("0 1073676288 0 65536 0 1073414144 0 262144", get(dtb, "/intc@3fff0000", "reg"));
        assertEquals(get(dtb, "/intc@3fff0000", "phandle"), get(dtb, "/", "interrupt-parent"));
        assertEquals("1 13 4 1 14 4 1 11 4 1 10 4", get(dtb, "/timer", "interrupts"));
        assertEquals("ns16550a", get(dtb, "/U6_16550A@3f8", "compatible"));
        assertEquals("0 0 1", get(dtb, "/U6_16550A@3f8", "interrupts"));
        assertEquals("arm,pl031 arm,primecell", get(dtb, "/rtc@2000", "compatible"));
        assertEquals(get(dtb, "/apb-pclk", "phandle"), get(dtb, "/rtc@2000", "clocks"));
        assertEquals("virtio,mmio", get(dtb, "/virtio_mmio@1011000", "compatible"));
        assertEquals("0 16846848 0 4096", get(dtb, "/virtio_mmio@1011000", "reg"));
        assertEquals("0 3 1", get(dtb, "/virtio_mmio@1011000", "interrupts"));
        assertTrue(dts.out().contains("dma-coherent;"), dts.out());
        assertEquals("vendor,my-uart", get(dtb, "/my-uart@1012000", "compatible"), "an embedder's own MMIO device");
        assertEquals("0 4 1", get(dtb, "/my-uart@1012000", "interrupts"));
        assertEquals(0, Dtc.get(dtb, "/virtio_mmio@1011000", "dma-coherent").status());
        assertTrue(
                Dtc.get(dtb, "/my-uart@1012000", "dma-coherent").status() != 0, "only virtio devices are dma-coherent");
    }

    @Test
    void gicV2TreeHasTheCpuInterfaceAndPpiCpuMasks() throws Exception {
        Path dtb = write(DeviceTree.GicVersion.V2, 4);
        Dtc.Result dts = Dtc.decompile(dtb);
        assertEquals("", dts.err());
        assertEquals("arm,cortex-a15-gic", get(dtb, "/intc@3fff0000", "compatible"));
        assertEquals("0 1073676288 0 65536 0 1073545216 0 131072", get(dtb, "/intc@3fff0000", "reg"));
        assertEquals(
                "1 13 3844 1 14 3844 1 11 3844 1 10 3844", get(dtb, "/timer", "interrupts"), "level-high, CPUs 0-3");
        assertThrows(
                IllegalArgumentException.class, () -> write(DeviceTree.GicVersion.V2, 9), "GICv2 has 8 CPU interfaces");
    }
}
