// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ValueTypesTest {
    @Test
    void datamatchChecksLengthAndValue() {
        assertEquals(0, Datamatch.any().length());
        assertFalse(Datamatch.any().matchValue());
        assertEquals(new Datamatch(2, 0xffff, true), Datamatch.of(2, 0xffff));
        assertThrows(IllegalArgumentException.class, () -> Datamatch.of(3, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Datamatch.of(1, 0x100));
        assertEquals("datamatch value 0x100 does not fit in 1 bytes", e.getMessage());
        Datamatch.of(8, -1L);
    }

    @Test
    void portAddressesMustBeSixteenBits() {
        new IoEventAddress.Pio(0xffff);
        assertThrows(IllegalArgumentException.class, () -> new IoEventAddress.Pio(0x10000));
        assertThrows(IllegalArgumentException.class, () -> new IoEventAddress.Pio(-1));
    }

    @Test
    void cpuidFindsIndexedAndUnindexedLeaves() {
        Cpuid cpuid = new Cpuid(List.of(
                new CpuidEntry(0, 0, 0, 0xd, 1, 2, 3),
                new CpuidEntry(7, 0, CpuidEntry.FLAG_SIGNIFICANT_INDEX, 1, 0, 0, 0),
                new CpuidEntry(7, 1, CpuidEntry.FLAG_SIGNIFICANT_INDEX, 2, 0, 0, 0)));
        assertEquals(0xd, cpuid.find(0, 5).orElseThrow().eax(), "an unindexed leaf ignores ECX");
        assertEquals(2, cpuid.find(7, 1).orElseThrow().eax());
        assertTrue(cpuid.find(7, 2).isEmpty());
        Cpuid masked = cpuid.map(e -> e.function() == 0 ? e.withRegisters(1, 1, 1, 1) : e);
        assertEquals(1, masked.find(0, 0).orElseThrow().eax());
        assertEquals(0xd, cpuid.find(0, 0).orElseThrow().eax(), "map makes a copy");
    }

    @Test
    void cpuidTableIsBoundedAsKvmBoundsIt() {
        List<CpuidEntry> tooMany = new ArrayList<>();
        for (int i = 0; i <= Cpuid.MAX_ENTRIES; i++) {
            tooMany.add(new CpuidEntry(i, 0, 0, 0, 0, 0, 0));
        }
        assertThrows(IllegalArgumentException.class, () -> new Cpuid(tooMany));
    }

    @Test
    void oneRegSizeIsDecodedFromTheId() {
        assertEquals(8, Vcpu.oneRegSize(0x6030_0000_0010_0000L)); // KVM_REG_ARM64 | KVM_REG_SIZE_U64 | core reg
        assertEquals(4, Vcpu.oneRegSize(0x6020_0000_0010_0000L));
        assertEquals(16, Vcpu.oneRegSize(0x6040_0000_0010_0000L));
    }
}
