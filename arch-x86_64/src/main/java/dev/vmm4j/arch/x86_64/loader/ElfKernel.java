// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.loader;

import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Loads an ELF64 x86-64 executable, such as a {@code vmlinux}, into guest memory at the physical addresses of its
 * PT_LOAD segments ({@code p_paddr}), zero-filling each segment's tail ({@code p_memsz > p_filesz}); the entry point
 * is {@code e_entry}, which for vmlinux is the physical address of {@code startup_64}.
 *
 * <p>Every header field is checked against the image and against guest memory before anything is copied.
 */
public final class ElfKernel {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static final int EHDR_SIZE = 64;
    static final int PHDR_SIZE = 56;
    private static final int ELFCLASS64 = 2;
    private static final int ELFDATA2LSB = 1;
    private static final int EM_X86_64 = 62;
    private static final int ET_EXEC = 2;
    private static final int PT_LOAD = 1;
    /** A kernel has a handful of program headers; more is a malformed (or hostile) image. */
    private static final int MAX_PROGRAM_HEADERS = 64;

    private ElfKernel() {}

    /**
     * {@return whether {@code image} starts with the ELF magic}
     *
     * @param image the file's bytes; only the first four are read
     */
    public static boolean isElf(MemorySegment image) {
        return image.byteSize() >= 4 && image.get(U32, 0) == 0x464c_457f; // "\x7fELF"
    }

    /**
     * Loads {@code image} into {@code memory}. {@code what} names the image in errors.
     *
     * @param image the whole file; read, not kept
     * @param memory where each segment goes, at its {@code p_paddr}; nothing is written unless every segment fits
     * @param what such as the file's path
     * @return the entry point and the range from the lowest segment's start to the highest segment's end, with no
     *     setup header
     * @throws InvalidKernelException if the image is not a well-formed ELF64 x86-64 executable, or a segment does
     *     not fit in guest memory
     */
    public static LoadedKernel load(MemorySegment image, GuestMemory memory, String what)
            throws InvalidKernelException {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(memory, "memory");
        Objects.requireNonNull(what, "what");
        long size = image.byteSize();
        if (size < EHDR_SIZE || !isElf(image)) {
            throw invalid(what, "it is not an ELF file (no ELF magic, or shorter than an ELF header)");
        }
        if (image.get(ValueLayout.JAVA_BYTE, 4) != ELFCLASS64 || image.get(ValueLayout.JAVA_BYTE, 5) != ELFDATA2LSB) {
            throw invalid(what, "it is not a 64-bit little-endian ELF file");
        }
        int type = image.get(U16, 16) & 0xffff;
        int machine = image.get(U16, 18) & 0xffff;
        if (machine != EM_X86_64) {
            throw invalid(what, "it is built for ELF machine " + machine + ", not x86-64 (62)");
        }
        if (type != ET_EXEC) {
            throw invalid(what, "it is ELF type " + type + ", not an executable (2)");
        }
        long entry = image.get(U64, 24);
        long phoff = image.get(U64, 32);
        int phentsize = image.get(U16, 54) & 0xffff;
        int phnum = image.get(U16, 56) & 0xffff;
        if (phnum == 0 || phnum > MAX_PROGRAM_HEADERS) {
            throw invalid(what, "it has " + phnum + " program headers (1 to " + MAX_PROGRAM_HEADERS + " expected)");
        }
        if (phentsize < PHDR_SIZE) {
            throw invalid(
                    what, "its program headers are " + phentsize + " bytes, less than the " + PHDR_SIZE + " of ELF64");
        }
        if (!fits(phoff, (long) phentsize * phnum, size)) {
            throw invalid(
                    what,
                    String.format(
                            Locale.ROOT,
                            "its %d program headers at offset %#x run past the end of the %d-byte file",
                            phnum,
                            phoff,
                            size));
        }
        long start = -1;
        long end = 0;
        // Check every segment before copying any, so that a bad image leaves guest memory as it was.
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < phnum; i++) {
                long ph = phoff + (long) i * phentsize;
                if (image.get(U32, ph) != PT_LOAD) {
                    continue;
                }
                long offset = image.get(U64, ph + 8);
                long paddr = image.get(U64, ph + 24);
                long filesz = image.get(U64, ph + 32);
                long memsz = image.get(U64, ph + 40);
                if (pass == 0) {
                    checkSegment(what, i, offset, paddr, filesz, memsz, size, memory);
                    start = start == -1 || Long.compareUnsigned(paddr, start) < 0 ? paddr : start;
                    end = Long.compareUnsigned(paddr + memsz, end) > 0 ? paddr + memsz : end;
                } else {
                    copySegment(image, memory, offset, paddr, filesz, memsz, what);
                }
            }
        }
        if (start == -1) {
            throw invalid(what, "it has no loadable (PT_LOAD) segment");
        }
        if (Long.compareUnsigned(entry, start) < 0 || Long.compareUnsigned(entry, end) >= 0) {
            throw invalid(
                    what,
                    String.format(
                            Locale.ROOT, "its entry point %#x is outside its segments [%#x, %#x)", entry, start, end));
        }
        return new LoadedKernel(entry, start, end, Optional.empty());
    }

    private static void checkSegment(
            String what, int i, long offset, long paddr, long filesz, long memsz, long size, GuestMemory memory)
            throws InvalidKernelException {
        if (!fits(offset, filesz, size)) {
            throw invalid(
                    what,
                    String.format(
                            Locale.ROOT,
                            "segment %d (%#x bytes at offset %#x) runs past the end of the %d-byte file",
                            i,
                            filesz,
                            offset,
                            size));
        }
        if (Long.compareUnsigned(filesz, memsz) > 0) {
            throw invalid(
                    what,
                    String.format(
                            Locale.ROOT,
                            "segment %d has more bytes in the file (%#x) than in memory (%#x)",
                            i,
                            filesz,
                            memsz));
        }
        if (memsz != 0 && !memory.isValidRange(paddr, memsz)) {
            throw invalid(
                    what,
                    String.format(
                            Locale.ROOT,
                            "segment %d at guest address %#x of %#x bytes lies outside guest memory (%d MiB): give the VM more memory",
                            i,
                            paddr,
                            memsz,
                            memory.totalSize() >> 20));
        }
    }

    private static void copySegment(
            MemorySegment image, GuestMemory memory, long offset, long paddr, long filesz, long memsz, String what)
            throws InvalidKernelException {
        try {
            memory.writeFully(paddr, image.asSlice(offset, filesz));
            long zeros = memsz - filesz;
            long done = 0;
            byte[] zero = new byte[(int) Math.min(zeros, 1 << 20)];
            while (done < zeros) {
                int chunk = (int) Math.min(zero.length, zeros - done);
                memory.writeFully(
                        paddr + filesz + done, MemorySegment.ofArray(zero).asSlice(0, chunk));
                done += chunk;
            }
        } catch (GuestMemoryException e) {
            throw new InvalidKernelException(what + ": " + e.getMessage(), e); // checked above; kept for safety
        }
    }

    /** {@return whether {@code [offset, offset + length)} lies within {@code size} bytes, without overflow} */
    static boolean fits(long offset, long length, long size) {
        return offset >= 0 && length >= 0 && offset <= size && length <= size - offset;
    }

    private static InvalidKernelException invalid(String what, String why) {
        return new InvalidKernelException("cannot load " + what + ": " + why);
    }
}
