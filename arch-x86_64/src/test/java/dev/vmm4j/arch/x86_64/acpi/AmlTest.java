// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.acpi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** AML encodings byte for byte, against ACPI 6.5 section 20 and what iasl compiles from the same ASL. */
class AmlTest {
    private static byte[] hex(String hex) {
        return HexFormat.of().parseHex(hex.replace(" ", ""));
    }

    @Test
    void integersTakeTheirShortestEncoding() {
        assertArrayEquals(hex("00"), Aml.integer(0).bytes(), "ZeroOp");
        assertArrayEquals(hex("01"), Aml.integer(1).bytes(), "OneOp");
        assertArrayEquals(hex("0a 05"), Aml.integer(5).bytes(), "BytePrefix");
        assertArrayEquals(hex("0b f8 03"), Aml.integer(0x3f8).bytes(), "WordPrefix");
        assertArrayEquals(hex("0c 00 00 00 d0"), Aml.integer(0xd000_0000L).bytes(), "DWordPrefix");
        assertArrayEquals(
                hex("0e 00 00 00 00 01 00 00 00"), Aml.integer(1L << 32).bytes(), "QWordPrefix");
    }

    @Test
    void namesArePaddedSegmentsWithTheirPrefixes() {
        assertArrayEquals(
                hex("08 5f 48 49 44 0d 4c 4e 52 4f 30 30 30 35 00"),
                Aml.name("_HID", Aml.string("LNRO0005")).bytes());
        assertArrayEquals(
                hex("08 5c 5f 53 35 5f 0a 05"),
                Aml.name("\\_S5", Aml.integer(5)).bytes(),
                "root, padded");
        assertArrayEquals(hex("2e 5f 53 42 5f 43 4f 4d 31"), Aml.Encoding.nameString("_SB.COM1"), "DualNamePrefix");
        assertArrayEquals(
                hex("5c 2f 03 5f 53 42 5f 50 43 49 30 53 30 30 5f"),
                Aml.Encoding.nameString("\\_SB.PCI0.S00"),
                "MultiNamePrefix");
        assertThrows(IllegalArgumentException.class, () -> Aml.Encoding.nameString("com1"));
        assertThrows(IllegalArgumentException.class, () -> Aml.Encoding.nameString("TOOLONG"));
        assertThrows(IllegalArgumentException.class, () -> Aml.Encoding.nameString(""));
    }

    @Test
    void anEisaIdIsCompressedIntoADword() {
        // iasl: EisaId ("PNP0501") -> 0x0105D041
        assertArrayEquals(hex("0c 41 d0 05 01"), Aml.eisaId("PNP0501").bytes());
        assertThrows(IllegalArgumentException.class, () -> Aml.eisaId("pnp0501"));
    }

    @Test
    void packageLengthsGrowPastOneByteAt63() {
        // Device (V000) {} : 5b 82, PkgLength 5, name
        assertArrayEquals(hex("5b 82 05 56 30 30 30"), Aml.device("V000").bytes());
        // 62 bytes of body (NumElements and 61 ZeroOps) with its one length byte make 63, the most one byte holds.
        byte[] largestShort = Aml.pkg(repeat(61)).bytes();
        assertArrayEquals(hex("12 3f 3d"), java.util.Arrays.copyOf(largestShort, 3));
        assertEquals(64, largestShort.length);
        // One more byte of body needs two length bytes, the low nibble first: 63 + 2 = 65 = 0x41, then 65 >> 4 = 4.
        byte[] shortestLong = Aml.pkg(repeat(62)).bytes();
        assertArrayEquals(hex("12 41 04 3e"), java.util.Arrays.copyOf(shortestLong, 4));
        assertEquals(66, shortestLong.length);
        // 4204 bytes of body (a name and 300 Names of 14 bytes) need three: 4207 = 0x106f -> 8f 06 01.
        Aml[] names = new Aml[300];
        java.util.Arrays.fill(names, Aml.name("_UID", Aml.integer(1L << 40)));
        byte[] large = Aml.device("BIG", names).bytes();
        assertArrayEquals(hex("5b 82 8f 06 01 42 49 47 5f"), java.util.Arrays.copyOf(large, 9));
        assertEquals(2 + 4207, large.length);
    }

    private static Aml[] repeat(int zeros) {
        Aml[] elements = new Aml[zeros];
        java.util.Arrays.fill(elements, Aml.integer(0));
        return elements;
    }

    @Test
    void resourceDescriptorsAreTheSpecsLayouts() {
        assertArrayEquals(
                hex("47 01 f8 03 f8 03 01 08"), AmlResource.io(0x3f8, 8).bytes());
        assertArrayEquals(hex("22 10 00"), AmlResource.irq(4).bytes());
        assertArrayEquals(hex("23 10 00 11"), AmlResource.sharedIrq(4).bytes());
        assertArrayEquals(
                hex("86 09 00 01 00 00 00 d0 00 10 00 00"),
                AmlResource.memory32Fixed(0xd000_0000L, 0x1000).bytes());
        assertArrayEquals(
                hex("89 06 00 03 01 05 00 00 00"), AmlResource.edgeInterrupt(5).bytes());
        // ResourceTemplate () { IO (Decode16, 0x3F8, 0x3F8, 0x01, 0x08) }: a buffer of 10 bytes with the end tag
        assertArrayEquals(
                hex("11 0d 0a 0a 47 01 f8 03 f8 03 01 08 79 00"),
                Aml.resources(AmlResource.io(0x3f8, 8)).bytes());
        assertThrows(IllegalArgumentException.class, () -> AmlResource.irq(16));
        assertThrows(IllegalArgumentException.class, () -> AmlResource.memory32Fixed(0xffff_f000L, 0x2000));
    }
}
