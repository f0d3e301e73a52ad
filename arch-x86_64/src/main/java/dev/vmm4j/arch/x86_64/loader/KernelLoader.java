// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.loader;

import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Loads a Linux kernel for the 64-bit boot protocol: an ELF {@code vmlinux} (entered at its {@code startup_64}, as
 * crosvm does), or a bzImage, either as the boot protocol says (its protected-mode code at the preferred address,
 * entered 0x200 in, decompressing itself) or decompressed on the host ({@link Decompression#HOST}: the vmlinux inside
 * is loaded as an ELF, and the guest skips its decompressor).
 *
 * <pre>{@code
 * LoadedKernel kernel = KernelLoader.load(Path.of("vmlinuz"), memory, KernelLoader.Decompression.HOST);
 * kernel.setupHeader().ifPresent(header -> ...copy into boot_params.hdr...);
 * }</pre>
 *
 * Whatever the file holds, the result is a {@link LoadedKernel} or an {@link InvalidKernelException} that says what is
 * wrong; nothing is written outside the kernel's own place in guest memory.
 */
public final class KernelLoader {
    /** Where a bzImage's payload is decompressed. */
    public enum Decompression {
        /** By the kernel's own decompressor, in the guest. */
        GUEST,
        /** By vmm4j, before the guest starts (gzip and xz payloads). */
        HOST
    }

    /** Images larger than this are not kernels. */
    static final long MAX_IMAGE_SIZE = 1L << 30;

    private KernelLoader() {}

    /**
     * Loads the kernel in {@code file} into {@code memory}.
     *
     * @param file an ELF vmlinux or a bzImage, at most 1 GiB; mapped while it loads, and closed after
     * @param memory where the kernel goes, at the addresses the image asks for
     * @param decompression where a bzImage's payload is decompressed; an ELF vmlinux ignores it
     * @return where the kernel went, and for a bzImage its setup header
     * @throws IOException if the file cannot be opened or read
     * @throws InvalidKernelException if the file is bigger than 1 GiB or, as for
     *     {@link #load(MemorySegment, GuestMemory, Decompression, String)}, cannot be loaded
     */
    public static LoadedKernel load(Path file, GuestMemory memory, Decompression decompression)
            throws IOException, InvalidKernelException {
        Objects.requireNonNull(file, "file");
        try (Arena arena = Arena.ofConfined();
                FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size > MAX_IMAGE_SIZE) {
                throw new InvalidKernelException(
                        "cannot load " + file + ": " + size + " bytes is too big for a kernel");
            }
            MemorySegment image = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return load(image, memory, decompression, file.toString());
        }
    }

    /**
     * Loads the kernel {@code image} into {@code memory}; {@code what} names it in errors.
     *
     * @param image the whole file; read, not kept
     * @param memory where the kernel goes, at the addresses the image asks for
     * @param decompression where a bzImage's payload is decompressed; an ELF vmlinux ignores it
     * @param what such as the file's path
     * @return where the kernel went, and for a bzImage its setup header
     * @throws InvalidKernelException if the image is neither an ELF vmlinux nor a bzImage, is malformed, does not fit
     *     in guest memory, or has a payload that {@link Decompression#HOST} cannot decompress (only gzip and xz)
     */
    public static LoadedKernel load(MemorySegment image, GuestMemory memory, Decompression decompression, String what)
            throws InvalidKernelException {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(memory, "memory");
        Objects.requireNonNull(decompression, "decompression");
        Objects.requireNonNull(what, "what");
        if (ElfKernel.isElf(image)) {
            return ElfKernel.load(image, memory, what);
        }
        if (!BzImage.isBzImage(image)) {
            throw new InvalidKernelException("cannot load " + what + ": it is neither an ELF vmlinux nor a bzImage");
        }
        BzImage bz = BzImage.parse(image, what);
        return decompression == Decompression.HOST ? loadDecompressed(bz, memory) : loadProtectedMode(bz, memory);
    }

    private static LoadedKernel loadDecompressed(BzImage bz, GuestMemory memory) throws InvalidKernelException {
        byte[] vmlinux = PayloadDecompressor.decompress(bz.payload(), bz.what());
        MemorySegment elf = MemorySegment.ofArray(vmlinux);
        if (!ElfKernel.isElf(elf)) {
            throw BzImage.invalid(bz.what(), "its payload does not decompress to an ELF vmlinux");
        }
        LoadedKernel kernel = ElfKernel.load(elf, memory, "the vmlinux inside " + bz.what());
        return new LoadedKernel(kernel.entry(), kernel.start(), kernel.end(), Optional.of(bz.setupHeader()));
    }

    private static LoadedKernel loadProtectedMode(BzImage bz, GuestMemory memory) throws InvalidKernelException {
        MemorySegment code = bz.protectedModeCode();
        long load = bz.preferredAddress();
        long footprint = Math.max(code.byteSize(), bz.initSize());
        if (!memory.isValidRange(load, footprint)) {
            throw BzImage.invalid(
                    bz.what(),
                    String.format(
                            Locale.ROOT,
                            "it decompresses itself in %d MiB from %#x (init_size), which is not all guest RAM: give the VM "
                                    + "more memory, or decompress on the host",
                            footprint >> 20,
                            load));
        }
        try {
            memory.writeFully(load, code);
        } catch (GuestMemoryException e) {
            throw BzImage.invalid(bz.what(), e.getMessage()); // the range was checked above
        }
        return new LoadedKernel(load + BzImage.ENTRY_64_OFFSET, load, load + footprint, Optional.of(bz.setupHeader()));
    }
}
