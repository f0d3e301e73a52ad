// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.acpi;

import dev.vmm4j.vmm.devices.DeviceNode;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The Differentiated System Description Table: the machine's devices in AML. The four 16550 UARTs (PNP0501, as a PC's
 * COM1-4), the CMOS clock (PNP0B00) and the i8042 (PNP0303), one {@code LNRO0005} device per virtio-mmio window with
 * its memory and interrupt (the id Linux's virtio_mmio driver matches through ACPI, as Firecracker and QEMU's microvm
 * describe them), and {@code \_S5}, the soft-off sleep type for {@link SleepControl}.
 */
final class Dsdt {
    /** The ACPI hardware id of a virtio-mmio window. */
    static final String VIRTIO_MMIO_HID = "LNRO0005";
    /** The device-tree compatible of a virtio-mmio window, as {@link DeviceNode.Mmio} carries it. */
    static final String VIRTIO_MMIO = "virtio,mmio";

    private record Uart(String name, int port, int irq) {}

    private static final List<Uart> UARTS = List.of(
            new Uart("COM1", 0x3f8, 4),
            new Uart("COM2", 0x2f8, 3),
            new Uart("COM3", 0x3e8, 4),
            new Uart("COM4", 0x2e8, 3));

    private Dsdt() {}

    /**
     * {@return the DSDT for {@code devices}}
     *
     * @throws IllegalArgumentException if a device is one ACPI cannot describe here (only virtio-mmio windows)
     */
    static byte[] of(List<DeviceNode> devices) {
        List<Aml> system = new ArrayList<>();
        for (int i = 0; i < UARTS.size(); i++) {
            Uart uart = UARTS.get(i);
            system.add(Aml.device(
                    uart.name(),
                    Aml.name("_HID", Aml.eisaId("PNP0501")),
                    Aml.name("_UID", Aml.integer(i + 1)),
                    Aml.name(
                            "_CRS", Aml.resources(AmlResource.io(uart.port(), 8), AmlResource.sharedIrq(uart.irq())))));
        }
        // The legacy devices Linux would otherwise look for at fixed places with a fixed IRQ, which a hardware-reduced
        // machine (no legacy PIC) does not set up for it: the CMOS clock and the keyboard controller.
        system.add(Aml.device(
                "RTC",
                Aml.name("_HID", Aml.eisaId("PNP0B00")),
                Aml.name("_CRS", Aml.resources(AmlResource.io(0x70, 2), AmlResource.irq(8)))));
        system.add(Aml.device(
                "KBD",
                Aml.name("_HID", Aml.eisaId("PNP0303")),
                Aml.name("_CRS", Aml.resources(AmlResource.io(0x60, 1), AmlResource.io(0x64, 1), AmlResource.irq(1)))));
        int index = 0;
        for (DeviceNode device : devices) {
            system.add(virtioMmio(index++, device));
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        Aml.scope("\\_SB", system.toArray(Aml[]::new)).encode(body);
        Aml.name(
                        "\\_S5",
                        Aml.pkg(
                                Aml.integer(SleepControl.S5_SLEEP_TYPE),
                                Aml.integer(0),
                                Aml.integer(0),
                                Aml.integer(0)))
                .encode(body);
        return SystemDescriptionTable.of("DSDT", 2, body.toByteArray());
    }

    private static Aml virtioMmio(int index, DeviceNode device) {
        return switch (device) {
            case DeviceNode.Mmio mmio
            when mmio.compatible().equals(VIRTIO_MMIO) -> {
                if (index > 0xfff) {
                    throw new IllegalArgumentException("ACPI names at most 4096 virtio-mmio devices here");
                }
                yield Aml.device(
                        String.format(Locale.ROOT, "V%03X", index),
                        Aml.name("_HID", Aml.string(VIRTIO_MMIO_HID)),
                        Aml.name("_UID", Aml.integer(index)),
                        Aml.name("_CCA", Aml.integer(1)), // cache-coherent DMA
                        Aml.name(
                                "_CRS",
                                Aml.resources(
                                        AmlResource.memory32Fixed(mmio.base(), mmio.size()),
                                        AmlResource.edgeInterrupt(mmio.interrupt()))));
            }
            case DeviceNode.Mmio mmio ->
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "ACPI cannot describe the \"%s\" device at %#x to an x86 guest: vmm4j's DSDT describes only"
                                + " \"%s\" windows",
                        mmio.compatible(),
                        mmio.base(),
                        VIRTIO_MMIO));
        };
    }
}
