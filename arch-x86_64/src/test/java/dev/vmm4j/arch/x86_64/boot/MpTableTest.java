// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vmm4j.vmm.memory.GuestMemoryException;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MpTableTest {
    @Test
    void tableDescribesEveryCpuTheIoapicAndItsPinsWithValidChecksums() throws GuestMemoryException {
        try (GuestMemoryMmap memory =
                GuestMemoryMmap.builder().anonymous(0, 1L << 20).build()) {
            MpTable.write(memory, 2);
            byte[] table = new byte[MpTable.size(2)];
            memory.readFully(X86Layout.EBDA_START, table);
            assertEquals("_MP_", new String(table, 0, 4, StandardCharsets.US_ASCII));
            assertEquals(0, sum(table, 0, 16), "floating pointer checksum");
            assertEquals((int) X86Layout.EBDA_START + 16, memory.getInt(X86Layout.EBDA_START + 4));
            assertEquals("PCMP", new String(table, 16, 4, StandardCharsets.US_ASCII));
            int length = memory.getShort(X86Layout.EBDA_START + 16 + 4);
            assertEquals(table.length - 16, length);
            assertEquals(0, sum(table, 16, 16 + length), "configuration table checksum");
            assertEquals(2 + 1 + 1 + 24 + 2, memory.getShort(X86Layout.EBDA_START + 16 + 34), "entry count");
            int firstEntry = 16 + 44;
            assertEquals(0, table[firstEntry], "processor entry");
            assertEquals(0x3, table[firstEntry + 3], "vCPU 0 is enabled and the bootstrap processor");
            assertEquals(1, table[firstEntry + 20 + 1], "vCPU 1's APIC id");
            assertEquals(0x1, table[firstEntry + 20 + 3], "vCPU 1 is enabled, not the BSP");
            int ioapic = firstEntry + 2 * 20 + 8;
            assertEquals(2, table[ioapic]);
            assertEquals(2, table[ioapic + 1], "the IOAPIC takes the id after the CPUs");
            assertEquals((int) MpTable.IOAPIC_ADDRESS, memory.getInt(X86Layout.EBDA_START + ioapic + 4));
            for (int pin = 0; pin < 24; pin++) {
                // Pins 16-23 carry virtio-mmio devices: Linux routes only the IRQs the table names.
                int entry = ioapic + 8 + 8 * pin;
                assertEquals(3, table[entry], "I/O interrupt entry for pin " + pin);
                assertEquals(pin, table[entry + 5], "source IRQ");
                assertEquals(2, table[entry + 6], "to the IOAPIC");
                assertEquals(pin, table[entry + 7], "pin");
            }
            assertThrows(IllegalArgumentException.class, () -> MpTable.write(memory, 0));
            assertThrows(IllegalArgumentException.class, () -> MpTable.write(memory, MpTable.MAX_CPUS + 1));
        }
    }

    private static int sum(byte[] bytes, int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) {
            sum += bytes[i];
        }
        return sum & 0xff;
    }
}
