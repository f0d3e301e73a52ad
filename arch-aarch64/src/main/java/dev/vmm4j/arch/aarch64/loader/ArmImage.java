// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.loader;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.Objects;

/**
 * The header of an arm64 Linux kernel {@code Image} (Documentation/arch/arm64/booting.rst), little-endian:
 *
 * <pre>
 *   0 u32 code0          4 u32 code1         8 u64 text_offset    16 u64 image_size
 *  24 u64 flags         32 u64 res2         40 u64 res3          48 u64 res4
 *  56 u32 magic "ARM\x64"                   60 u32 res5 (PE header offset, for the EFI stub)
 * flags: bit 0 big-endian; bits 1-2 page size (0 unspecified, 1 4K, 2 16K, 3 64K); bit 3 physical placement
 *        (0: as close to the start of RAM as possible, 1: anywhere, 2 MiB-aligned)
 * </pre>
 *
 * A kernel with {@code image_size} 0 predates Linux 3.17: its text offset is 0x80000 and its size is the file's.
 *
 * @param textOffset where the image goes above a 2 MiB-aligned base
 * @param imageSize the bytes the kernel occupies once running, BSS included
 * @param pageSizeKiB the kernel's page size, 0 if it does not say
 * @param anywhere whether the base may be any 2 MiB-aligned address
 */
public record ArmImage(long textOffset, long imageSize, int pageSizeKiB, boolean anywhere) {
    /** Size in bytes of the header, at the start of the file: what {@link #parse} needs. */
    public static final int HEADER_SIZE = 64;
    /** The header's {@code magic} at byte 56, "ARM\x64", as a little-endian 32-bit value. */
    public static final int MAGIC = 0x644d_5241;
    /** The base is 2 MiB-aligned. */
    public static final long BASE_ALIGNMENT = 2L << 20;

    private static final long LEGACY_TEXT_OFFSET = 0x80000;

    /**
     * {@return the header of a {@code fileSize}-byte kernel, parsed from its first bytes and checked} The bytes and
     * the file must each hold a whole header, which must have the magic and say little-endian; unless it is a pre-3.17 header (image_size
     * 0), its text_offset must be 4 KiB-aligned below 2 MiB and its image_size from the file's size up to 4 GiB.
     *
     * @param what names the kernel in error messages, such as its path
     * @param start the file's first bytes, at least {@link #HEADER_SIZE} of them; only those are read
     * @param fileSize the whole file's size in bytes, taken as the image size when the header has none
     * @throws InvalidKernelException saying what is wrong, naming {@code what}
     */
    public static ArmImage parse(String what, byte[] start, long fileSize) {
        Objects.requireNonNull(what, "what");
        Objects.requireNonNull(start, "start");
        if (start.length < HEADER_SIZE || fileSize < HEADER_SIZE) {
            throw new InvalidKernelException(
                    what, "it has " + fileSize + " bytes, fewer than an arm64 Image header's 64");
        }
        ByteBuffer header = ByteBuffer.wrap(start, 0, HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        if (header.getInt(56) != MAGIC) {
            throw new InvalidKernelException(what, "it is not an arm64 Image (no \"ARM\\x64\" magic at offset 56)");
        }
        long textOffset = header.getLong(8);
        long imageSize = header.getLong(16);
        long flags = header.getLong(24);
        if ((flags & 1) != 0) {
            throw new InvalidKernelException(
                    what, "it is a big-endian kernel; only little-endian arm64 kernels run here");
        }
        if (imageSize == 0) {
            return new ArmImage(LEGACY_TEXT_OFFSET, fileSize, 0, false);
        }
        if (textOffset < 0 || textOffset >= BASE_ALIGNMENT || textOffset % 4096 != 0) {
            throw new InvalidKernelException(
                    what,
                    String.format(
                            Locale.ROOT, "text_offset %#x is not a 4 KiB-aligned offset below 2 MiB", textOffset));
        }
        if (imageSize < fileSize || imageSize > (1L << 32)) {
            throw new InvalidKernelException(
                    what,
                    String.format(
                            Locale.ROOT,
                            "image_size %#x is smaller than the file (%d bytes) or beyond 4 GiB",
                            imageSize,
                            fileSize));
        }
        int pageSize = switch ((int) ((flags >>> 1) & 3)) {
            case 1 -> 4;
            case 2 -> 16;
            case 3 -> 64;
            default -> 0;
        };
        return new ArmImage(textOffset, imageSize, pageSize, (flags & 8) != 0);
    }

    /**
     * {@return where the kernel goes in RAM that starts at {@code ramBase}: the first 2 MiB-aligned base, plus
     * text_offset}
     *
     * @param ramBase the guest-physical address where RAM starts, aligned or not
     */
    public long loadAddress(long ramBase) {
        long base = (ramBase + BASE_ALIGNMENT - 1) & -BASE_ALIGNMENT;
        return base + textOffset;
    }
}
