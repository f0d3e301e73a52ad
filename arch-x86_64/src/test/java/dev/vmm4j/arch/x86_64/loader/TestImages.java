// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.loader;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.GZIPOutputStream;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

/** Small, well-formed kernel images built byte by byte, for loader tests and as seeds for fuzzing. */
final class TestImages {
    static final long TEXT_ADDRESS = 0x100_0000; // 16 MiB, where a vmlinux is linked
    static final long DATA_ADDRESS = 0x120_0000;
    static final byte[] TEXT = "startup_64: Linux version 6.1-test".getBytes();
    static final byte[] DATA = {1, 2, 3, 4};
    static final long DATA_MEMSZ = 0x2000; // the rest is .bss: zero-filled

    private TestImages() {}

    /** An ELF64 x86-64 executable with a text segment (the entry) and a data segment with a .bss tail. */
    static byte[] elf() {
        int phoff = ElfKernel.EHDR_SIZE;
        int textOffset = phoff + 2 * ElfKernel.PHDR_SIZE;
        int dataOffset = textOffset + TEXT.length;
        ByteBuffer b = ByteBuffer.allocate(dataOffset + DATA.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0}).put(new byte[8]);
        b.putShort((short) 2).putShort((short) 62).putInt(1); // ET_EXEC, EM_X86_64, EV_CURRENT
        b.putLong(TEXT_ADDRESS).putLong(phoff).putLong(0); // entry, phoff, shoff
        b.putInt(0).putShort((short) 64).putShort((short) ElfKernel.PHDR_SIZE).putShort((short) 2);
        b.putShort((short) 64).putShort((short) 0).putShort((short) 0);
        programHeader(b, textOffset, TEXT_ADDRESS, TEXT.length, TEXT.length);
        programHeader(b, dataOffset, DATA_ADDRESS, DATA.length, DATA_MEMSZ);
        b.put(TEXT).put(DATA);
        return b.array();
    }

    private static void programHeader(ByteBuffer b, long offset, long paddr, long filesz, long memsz) {
        b.putInt(1).putInt(5); // PT_LOAD, R+X
        b.putLong(offset).putLong(paddr | 0xffff_ffff_8000_0000L).putLong(paddr); // offset, vaddr, paddr
        b.putLong(filesz).putLong(memsz).putLong(0x1000);
    }

    static byte[] gzip(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static byte[] xz(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (XZOutputStream xz = new XZOutputStream(out, new LZMA2Options())) {
            xz.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * A bzImage of boot protocol 2.15 with 2 setup sectors, whose protected-mode code is a 0x300-byte stub
     * followed by {@code payload}.
     */
    static byte[] bzImage(byte[] payload) {
        int setupSects = 2;
        int protectedOffset = (setupSects + 1) * 512;
        int stub = 0x300;
        ByteBuffer b =
                ByteBuffer.allocate(protectedOffset + stub + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1f1, (byte) setupSects);
        b.putShort(0x1fe, (short) 0xaa55);
        b.put(0x200, (byte) 0xeb).put(0x201, (byte) 0x6a); // jmp over the header (to 0x26c)
        b.putInt(0x202, 0x5372_6448); // "HdrS"
        b.putShort(0x206, (short) 0x020f);
        b.put(0x211, (byte) 0x01); // LOADED_HIGH
        b.putInt(0x22c, 0x7fff_ffff); // initrd_addr_max
        b.putInt(0x230, 0x20_0000); // kernel_alignment
        b.put(0x234, (byte) 1); // relocatable
        b.putShort(0x236, (short) 0x7f); // xloadflags: XLF_KERNEL_64 and friends
        b.putInt(0x238, 2047); // cmdline_size
        b.putInt(0x248, stub); // payload_offset
        b.putInt(0x24c, payload.length); // payload_length
        b.putLong(0x258, TEXT_ADDRESS); // pref_address
        b.putInt(0x260, 0x40_0000); // init_size
        b.position(protectedOffset + stub);
        b.put(payload);
        return b.array();
    }
}
