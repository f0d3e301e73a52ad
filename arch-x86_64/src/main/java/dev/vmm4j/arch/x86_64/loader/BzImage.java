// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.loader;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.boot_params;
import dev.vmm4j.kvm.bindings.setup_header;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.Objects;

/**
 * A parsed bzImage (Linux x86 boot protocol 2.12 or later): its setup header, its protected-mode code, and the
 * compressed vmlinux inside that code. Offsets come from the generated {@code boot_params}/{@code setup_header}
 * layouts; every value is checked against the file.
 *
 * <pre>
 *  file offset 0           real-mode setup: (setup_sects + 1) sectors of 512 bytes
 *              0x1f1       setup_header (boot_params.hdr): setup_sects, boot_flag 0xaa55, "HdrS", version, ...
 *  (setup_sects + 1) * 512 protected-mode code: the decompressor, with the compressed vmlinux at
 *                          [payload_offset, payload_offset + payload_length)
 * </pre>
 */
public final class BzImage {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static final long HDR = boot_params.hdr$offset();
    static final long SETUP_SECTS = HDR + setup_header.setup_sects$offset();
    static final long BOOT_FLAG = HDR + setup_header.boot_flag$offset();
    static final long JUMP = HDR + setup_header.jump$offset();
    static final long HEADER = HDR + setup_header.header$offset();
    static final long VERSION = HDR + setup_header.version$offset();
    static final long LOADFLAGS = HDR + setup_header.loadflags$offset();
    static final long INITRD_ADDR_MAX = HDR + setup_header.initrd_addr_max$offset();
    static final long KERNEL_ALIGNMENT = HDR + setup_header.kernel_alignment$offset();
    static final long RELOCATABLE = HDR + setup_header.relocatable_kernel$offset();
    static final long XLOADFLAGS = HDR + setup_header.xloadflags$offset();
    static final long CMDLINE_SIZE = HDR + setup_header.cmdline_size$offset();
    static final long PAYLOAD_OFFSET = HDR + setup_header.payload_offset$offset();
    static final long PAYLOAD_LENGTH = HDR + setup_header.payload_length$offset();
    static final long PREF_ADDRESS = HDR + setup_header.pref_address$offset();
    static final long INIT_SIZE = HDR + setup_header.init_size$offset();
    /** The whole setup header must be in the file up to init_size, the last field this loader reads. */
    static final long MIN_SIZE = INIT_SIZE + 4;
    /** "HdrS", little-endian. */
    private static final int MAGIC = 0x5372_6448;
    /** 2.12: xloadflags, and with it the 64-bit entry point. */
    static final int MIN_VERSION = 0x020c;

    private static final int SECTOR = 512;
    /** The 64-bit entry point is this far into the protected-mode code. */
    static final long ENTRY_64_OFFSET = 0x200;

    private final MemorySegment image;
    private final String what;
    private final long protectedModeOffset;
    private final int version;

    private BzImage(MemorySegment image, String what, long protectedModeOffset, int version) {
        this.image = image;
        this.what = what;
        this.protectedModeOffset = protectedModeOffset;
        this.version = version;
    }

    /**
     * {@return whether {@code image} looks like a bzImage: boot flag and "HdrS" in place}
     *
     * @param image the file's bytes; only those two fields are read, and a shorter image is not one
     */
    public static boolean isBzImage(MemorySegment image) {
        return image.byteSize() >= HEADER + 4
                && (image.get(U16, BOOT_FLAG) & 0xffff) == 0xaa55
                && image.get(U32, HEADER) == MAGIC;
    }

    /**
     * Parses {@code image}; {@code what} names it in errors.
     *
     * @param image the whole file; the result reads it on demand and hands out slices of it, so it must stay mapped
     *     while they are used
     * @param what such as the file's path
     * @return the parsed image, its header checked against the file
     * @throws InvalidKernelException if it is not a bzImage, speaks a boot protocol older than 2.12, has no
     *     protected-mode code or no 64-bit entry point, or its payload runs past the end of the file
     */
    public static BzImage parse(MemorySegment image, String what) throws InvalidKernelException {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(what, "what");
        if (image.byteSize() < MIN_SIZE || !isBzImage(image)) {
            throw invalid(
                    what,
                    "it is not a bzImage (no boot flag 0xaa55 and \"HdrS\" header, or shorter than a setup header)");
        }
        int version = image.get(U16, VERSION) & 0xffff;
        if (version < MIN_VERSION) {
            throw invalid(
                    what,
                    String.format(
                            Locale.ROOT,
                            "it speaks boot protocol %d.%02d; vmm4j needs 2.12 or later (Linux 3.8 and newer)",
                            version >> 8,
                            version & 0xff));
        }
        int setupSects = image.get(ValueLayout.JAVA_BYTE, SETUP_SECTS) & 0xff;
        long protectedModeOffset = (long) ((setupSects == 0 ? 4 : setupSects) + 1) * SECTOR;
        if (protectedModeOffset >= image.byteSize()) {
            throw invalid(
                    what,
                    "its real-mode setup (" + protectedModeOffset
                            + " bytes) is the whole file: no protected-mode code");
        }
        int xloadflags = image.get(U16, XLOADFLAGS) & 0xffff;
        if ((xloadflags & LinuxHeaders.XLF_KERNEL_64()) == 0) {
            throw invalid(what, "it has no 64-bit entry point (XLF_KERNEL_64): it is a 32-bit kernel");
        }
        BzImage bz = new BzImage(image, what, protectedModeOffset, version);
        long payloadLength = Integer.toUnsignedLong(image.get(U32, PAYLOAD_LENGTH));
        if (!ElfKernel.fits(
                bz.payloadOffset(), payloadLength, bz.protectedModeCode().byteSize())) {
            throw invalid(
                    what,
                    String.format(
                            Locale.ROOT,
                            "its payload (%d bytes at %#x) runs past the end of the protected-mode code",
                            payloadLength,
                            bz.payloadOffset()));
        }
        return bz;
    }

    /** {@return the boot protocol version, such as 0x020f} */
    public int version() {
        return version;
    }

    /** {@return the setup header as the file has it (0x1f1 to the end of the header), for {@code boot_params.hdr}} */
    public byte[] setupHeader() {
        long end = JUMP + 2 + (image.get(ValueLayout.JAVA_BYTE, JUMP + 1) & 0xff); // the jump skips over the header
        end = Math.min(Math.max(end, MIN_SIZE), Math.min(image.byteSize(), HDR + setup_header.sizeof()));
        return image.asSlice(HDR, end - HDR).toArray(ValueLayout.JAVA_BYTE);
    }

    /** {@return the protected-mode code: what the boot protocol loads high} */
    public MemorySegment protectedModeCode() {
        return image.asSlice(protectedModeOffset);
    }

    long payloadOffset() {
        return Integer.toUnsignedLong(image.get(U32, PAYLOAD_OFFSET));
    }

    /** {@return the compressed vmlinux inside the protected-mode code} */
    public MemorySegment payload() {
        return protectedModeCode().asSlice(payloadOffset(), Integer.toUnsignedLong(image.get(U32, PAYLOAD_LENGTH)));
    }

    /** {@return the address the kernel prefers to be loaded at} */
    public long preferredAddress() {
        return image.get(U64, PREF_ADDRESS);
    }

    /** {@return the memory from the load address the kernel needs to decompress itself in place} */
    public long initSize() {
        return Integer.toUnsignedLong(image.get(U32, INIT_SIZE));
    }

    /** {@return the highest address an initrd may end at, inclusive} */
    public long initrdAddressMax() {
        return Integer.toUnsignedLong(image.get(U32, INITRD_ADDR_MAX));
    }

    /** {@return the longest command line the kernel takes, without its NUL} */
    public long commandLineSize() {
        return Integer.toUnsignedLong(image.get(U32, CMDLINE_SIZE));
    }

    String what() {
        return what;
    }

    static InvalidKernelException invalid(String what, String why) {
        return new InvalidKernelException("cannot load " + what + " as a bzImage: " + why);
    }
}
