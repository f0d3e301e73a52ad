// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.acpi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.arch.x86_64.boot.X86Layout;
import dev.vmm4j.vmm.devices.DeviceNode;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * vmm4j's ACPI tables: checksums and pointers, and iasl's disassembly of each table with a standard header (all but the
 * RSDP, whose fields are checked here), without an error or a warning.
 */
@Iasl.Required
class AcpiTablesTest {
    private static final List<DeviceNode> DEVICES = List.of(
            new DeviceNode.Mmio("virtio,mmio", 0xd000_0000L, 0x1000, 5),
            new DeviceNode.Mmio("virtio,mmio", 0xd000_1000L, 0x1000, 6));

    @TempDir
    Path dir;

    private static int sum(byte[] bytes, int length) {
        int sum = 0;
        for (int i = 0; i < length; i++) {
            sum += bytes[i];
        }
        return sum & 0xff;
    }

    private Iasl.Disassembly disassemble(String name, byte[] table) throws Exception {
        Iasl.Disassembly result = Iasl.disassemble(dir, name, table);
        assertEquals(0, result.status(), result.messages());
        assertFalse(result.messages().matches("(?s).*(Error|Warning|Remark).*"), result.messages());
        return result;
    }

    @Test
    void theDsdtNamesEveryVirtioWindowWithItsMemoryAndInterruptAndTheUarts() throws Exception {
        byte[] dsdt = Dsdt.of(DEVICES);
        assertEquals(0, sum(dsdt, dsdt.length), "checksum");
        String source = disassemble("dsdt", dsdt).source();
        for (String expected : List.of(
                "Device (V000)",
                "Device (V001)",
                "Name (_HID, \"LNRO0005\")",
                "Memory32Fixed (ReadWrite,\n                    0xD0000000,         // Address Base\n                    0x00001000,",
                "0xD0001000,         // Address Base",
                "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )\n                {\n                    0x00000005,",
                "0x00000006,",
                "Device (COM1)",
                "Name (_HID, EisaId (\"PNP0501\")",
                "IO (Decode16,\n                    0x03F8,",
                "IRQ (Edge, ActiveHigh, Shared, )\n                    {4}",
                "Device (COM4)",
                "Device (RTC)",
                "Name (_HID, EisaId (\"PNP0B00\")",
                "0x0070,             // Range Minimum",
                "IRQNoFlags ()\n                    {8}",
                "Device (KBD)",
                "Name (_HID, EisaId (\"PNP0303\")",
                "0x0064,             // Range Minimum",
                "Name (\\_S5, Package (0x04)")) {
            assertTrue(source.contains(expected), "no \"" + expected + "\" in\n" + source);
        }
    }

    @Test
    void theFadtIsHardwareReducedWithSleepRegistersAndPointsAtTheDsdt() throws Exception {
        byte[] fadt = Fadt.of(0xe0400);
        assertEquals(Fadt.BYTES, fadt.length);
        assertEquals(0, sum(fadt, fadt.length), "checksum");
        String source = disassemble("facp", fadt).source();
        for (String expected : List.of(
                "Hardware Reduced (V5) : 1",
                "Control Method Power Button (V1) : 1",
                "Control Method Sleep Button (V1) : 1",
                "DSDT Address : 000E0400",
                "DSDT Address : 00000000000E0400",
                "Sleep Control Register",
                "Address : 0000000000000600",
                "Address : 0000000000000601")) {
            assertTrue(source.replaceAll(" {2,}", " ").contains(expected), "no \"" + expected + "\" in\n" + source);
        }
    }

    @Test
    void theMadtHasEachVcpuAndTheIoapic() throws Exception {
        byte[] madt = Madt.of(3);
        assertEquals(0, sum(madt, madt.length), "checksum");
        String source = disassemble("apic", madt).source().replaceAll(" {2,}", " ");
        for (String expected : List.of(
                "Local Apic Address : FEE00000",
                "Local Apic ID : 02",
                "I/O Apic ID : 03",
                "Address : FEC00000",
                "Interrupt Input LINT : 01")) {
            assertTrue(source.contains(expected), "no \"" + expected + "\" in\n" + source);
        }
        assertFalse(source.contains("Interrupt Source Override"), "ISA IRQ n is GSI n, as KVM routes it:\n" + source);
        assertFalse(source.contains("Local Apic ID : 03"), "three vCPUs: ids 0 to 2");
    }

    @Test
    void theRsdpAndXsdtChainReachesTheTablesInGuestMemory() throws Exception {
        try (GuestMemoryMmap memory =
                GuestMemoryMmap.builder().anonymous(0, 2 << 20).build()) {
            long rsdp = AcpiTables.write(memory, 2, DEVICES);
            assertEquals(X86Layout.ACPI_TABLES, rsdp);
            byte[] header = new byte[36];
            memory.readFully(rsdp, header);
            assertEquals("RSD PTR ", new String(header, 0, 8, java.nio.charset.StandardCharsets.US_ASCII));
            assertEquals(0, sum(header, 20), "RSDP checksum");
            assertEquals(0, sum(header, 36), "RSDP extended checksum");
            assertEquals(2, header[15], "revision: ACPI 2.0 or later, with an XSDT");
            assertEquals(
                    36, ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt(20), "length");
            // iasl -d takes tables with a standard header; the RSDP has none, so its fields are checked here.
            long xsdt = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getLong(24);
            byte[] xsdtBytes = new byte[36 + 16];
            memory.readFully(xsdt, xsdtBytes);
            disassemble("xsdt", xsdtBytes);
            ByteBuffer pointers = ByteBuffer.wrap(xsdtBytes).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals("FACP", signature(memory, pointers.getLong(36)));
            assertEquals("APIC", signature(memory, pointers.getLong(44)));
            byte[] fadt = new byte[Fadt.BYTES];
            memory.readFully(pointers.getLong(36), fadt);
            long dsdt = ByteBuffer.wrap(fadt).order(ByteOrder.LITTLE_ENDIAN).getLong(140);
            assertEquals("DSDT", signature(memory, dsdt));
            assertTrue(dsdt + memory.getInt(dsdt + 4) <= 0x10_0000, "below 1 MiB");
        }
    }

    @Test
    void aDeviceAcpiCannotDescribeIsRefusedByName() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Dsdt.of(List.of(new DeviceNode.Mmio("vendor,my-uart", 0xd000_0000L, 0x1000, 5))));
        assertTrue(e.getMessage().contains("vendor,my-uart"), e.getMessage());
    }

    private static String signature(GuestMemoryMmap memory, long address) throws Exception {
        byte[] bytes = new byte[4];
        memory.readFully(address, bytes);
        return new String(bytes, java.nio.charset.StandardCharsets.US_ASCII);
    }
}
