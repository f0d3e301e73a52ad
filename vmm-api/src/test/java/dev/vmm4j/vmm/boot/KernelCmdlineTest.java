// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class KernelCmdlineTest {
    @Test
    void buildsASpaceSeparatedLineWithQuotedValues() {
        KernelCmdline cmdline = new KernelCmdline(2048)
                .insertStr("  console=ttyS0 panic=1 ")
                .insert("virtio_mmio.device", "4K@0xd0000000:5")
                .insert("root", "PARTUUID=1234-01")
                .insert("dyndbg", "file main.c +p")
                .insertFlag("noxsave");
        assertEquals(
                "console=ttyS0 panic=1 virtio_mmio.device=4K@0xd0000000:5 root=PARTUUID=1234-01 "
                        + "dyndbg=\"file main.c +p\" noxsave",
                cmdline.toString());
        byte[] bytes = cmdline.toCString();
        assertEquals(cmdline.length() + 1, bytes.length);
        assertEquals(0, bytes[bytes.length - 1]);
    }

    @Test
    void capacityCountsTheNul() {
        KernelCmdline cmdline = new KernelCmdline(10).insertFlag("abcdefgh"); // 8 + NUL = 9
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cmdline.insertFlag("x"));
        assertEquals(
                "command line would be 11 bytes with its NUL, more than the 10 it may have: cannot add \"x\" to \"abcdefgh\"",
                e.getMessage());
        assertEquals("abcdefgh", cmdline.toString(), "a refused insert leaves the line as it was");
        new KernelCmdline(10).insertFlag("abcdefghi"); // exactly full
        assertThrows(IllegalArgumentException.class, () -> new KernelCmdline(10).insertFlag("abcdefghij"));
    }

    @Test
    void refusesWhatTheKernelWouldMisparse() {
        KernelCmdline cmdline = new KernelCmdline(2048);
        assertEquals(
                "parameters contains a NUL at index 3, which would end the command line there",
                assertThrows(IllegalArgumentException.class, () -> cmdline.insertStr("abc\0def"))
                        .getMessage());
        assertThrows(IllegalArgumentException.class, () -> cmdline.insertStr("console=ttyS0\ninit=/bin/sh"));
        assertThrows(IllegalArgumentException.class, () -> cmdline.insertStr("caf\u00e9"));
        assertThrows(IllegalArgumentException.class, () -> cmdline.insertStr("dyndbg=\"file main.c"));
        assertEquals(
                "command-line key \"a b\" contains ' ', which would break parsing",
                assertThrows(IllegalArgumentException.class, () -> cmdline.insert("a b", "1"))
                        .getMessage());
        assertThrows(IllegalArgumentException.class, () -> cmdline.insert("a=b", "1"));
        assertThrows(IllegalArgumentException.class, () -> cmdline.insert("", "1"));
        assertThrows(IllegalArgumentException.class, () -> cmdline.insert("key", "say \"hi\""));
        assertThrows(IllegalArgumentException.class, () -> new KernelCmdline(0));
        assertEquals("", cmdline.toString());
    }

    /** Whatever is inserted, the line stays printable ASCII within capacity, or the insert is refused and changes nothing. */
    @Property(tries = 2000)
    void acceptedLinesAreAlwaysWellFormed(@ForAll String key, @ForAll String value) {
        KernelCmdline cmdline = new KernelCmdline(64).insertFlag("start");
        String before = cmdline.toString();
        try {
            cmdline.insert(key, value);
            assertTrue(cmdline.toString().startsWith(before + " " + key + "="));
        } catch (IllegalArgumentException e) {
            assertEquals(before, cmdline.toString());
        }
        byte[] bytes = cmdline.toCString();
        assertTrue(bytes.length <= 64);
        for (int i = 0; i < bytes.length - 1; i++) {
            assertTrue(bytes[i] >= 0x20 && bytes[i] <= 0x7e, "byte " + i);
        }
        assertEquals(0, bytes[bytes.length - 1]);
        assertArrayEquals(
                cmdline.toString().getBytes(StandardCharsets.US_ASCII),
                java.util.Arrays.copyOf(bytes, bytes.length - 1));
    }
}
