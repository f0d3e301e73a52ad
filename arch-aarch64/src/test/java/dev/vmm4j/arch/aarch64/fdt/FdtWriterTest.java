// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.fdt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The DTB writer's layout and its checks; dtc reads what it writes. */
@Dtc.Required
class FdtWriterTest {
    @TempDir
    Path dir;

    @Test
    void headerBlocksAndAlignmentFollowTheSpecification() {
        FdtWriter fdt = new FdtWriter();
        fdt.reserveMemory(0x1000, 0x2000);
        fdt.beginNode("");
        fdt.property("model", "abc"); // 4 bytes with its NUL
        fdt.property("x", "abcde"); // padded to 8
        fdt.property("model2", "abc");
        fdt.beginNode("node@1");
        fdt.property("model", 7); // "model" is stored once in the strings block
        fdt.endNode();
        fdt.endNode();
        ByteBuffer dtb = ByteBuffer.wrap(fdt.finish(3));
        assertEquals(FdtWriter.MAGIC, dtb.getInt(0));
        assertEquals(dtb.capacity(), dtb.getInt(4), "totalsize");
        int structOffset = dtb.getInt(8);
        int stringsOffset = dtb.getInt(12);
        assertEquals(40, dtb.getInt(16), "the reservation map right after the header");
        assertEquals(17, dtb.getInt(20));
        assertEquals(16, dtb.getInt(24));
        assertEquals(3, dtb.getInt(28), "boot_cpuid_phys");
        assertEquals("model\0x\0model2\0".length(), dtb.getInt(32), "strings are shared");
        assertEquals(stringsOffset - structOffset, dtb.getInt(36));
        assertEquals(0x1000, dtb.getLong(40));
        assertEquals(0x2000, dtb.getLong(48));
        assertEquals(0, dtb.getLong(56));
        assertEquals(0, dtb.getLong(64), "the map ends with a zero entry");
        assertEquals(72, structOffset);
        assertEquals(0, structOffset % 4);
        assertEquals(FdtWriter.FDT_BEGIN_NODE, dtb.getInt(structOffset));
        assertEquals(FdtWriter.FDT_END, dtb.getInt(stringsOffset - 4));
    }

    @Test
    void dtcReadsItWithoutWarnings() throws Exception {
        FdtWriter fdt = new FdtWriter();
        int phandle = fdt.allocatePhandle();
        fdt.beginNode("");
        fdt.property("#address-cells", 2);
        fdt.property("#size-cells", 2);
        fdt.propertyStrings("compatible", "vmm4j,test", "simple-bus");
        fdt.beginNode("intc@1000");
        fdt.property("reg", new long[] {0x1000, 0x100});
        fdt.property("interrupt-controller");
        fdt.property("#interrupt-cells", 3);
        fdt.property("#address-cells", 0); // dtc warns about an interrupt provider without it
        fdt.property("phandle", phandle);
        fdt.endNode();
        fdt.endNode();
        Path dtb = Files.write(dir.resolve("t.dtb"), fdt.finish());
        Dtc.Result dts = Dtc.decompile(dtb);
        assertEquals(0, dts.status(), dts.err());
        assertEquals("", dts.err(), "no warnings");
        assertTrue(
                dts.out().contains("compatible = \"vmm4j,test\\0simple-bus\";"), dts.out()); // dtc 1.6 prints lists so
        assertEquals("0 4096 0 256", Dtc.get(dtb, "/intc@1000", "reg").out());
        assertEquals("vmm4j,test simple-bus", Dtc.get(dtb, "/", "compatible").out());
    }

    @Test
    void mistakesAreRefusedByName() {
        FdtWriter fdt = new FdtWriter();
        assertThrows(IllegalStateException.class, () -> fdt.beginNode("notroot"));
        assertThrows(IllegalStateException.class, () -> fdt.property("x", 1), "a property outside any node");
        fdt.beginNode("");
        assertThrows(IllegalArgumentException.class, () -> fdt.property("bad name", 1));
        assertThrows(IllegalArgumentException.class, () -> fdt.property("a-name-that-is-much-too-long-for-fdt", 1));
        assertThrows(IllegalArgumentException.class, () -> fdt.beginNode("bad/node"));
        fdt.property("x", 1);
        assertEquals(
                "node / already has property x",
                assertThrows(IllegalStateException.class, () -> fdt.property("x", 2))
                        .getMessage());
        fdt.beginNode("child");
        fdt.endNode();
        assertEquals(
                "node /: property y comes after a subnode",
                assertThrows(IllegalStateException.class, () -> fdt.property("y", 1))
                        .getMessage());
        assertEquals(
                "node / is still open",
                assertThrows(IllegalStateException.class, fdt::finish).getMessage());
        fdt.endNode();
        assertThrows(IllegalStateException.class, () -> fdt.beginNode(""), "a second root");
        assertThrows(IllegalStateException.class, fdt::endNode);
        assertThrows(IllegalStateException.class, () -> new FdtWriter().finish());
    }
}
