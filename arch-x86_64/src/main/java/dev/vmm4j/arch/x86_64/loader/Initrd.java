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

/** Places an initial ramdisk as high as it may go: page-aligned, below a limit, above the kernel. */
public final class Initrd {
    private static final long PAGE = 4096;

    /**
     * Where an initrd went.
     *
     * @param address guest-physical address of its first byte, page-aligned
     * @param size its length in bytes, as the image has it (not rounded up to a page)
     */
    public record Placement(long address, long size) {}

    private Initrd() {}

    /**
     * Copies the initrd in {@code file} into {@code memory}, ending at or below {@code limit} (exclusive: the boot
     * protocol's {@code initrd_addr_max + 1}, or the end of low RAM) and starting at or above {@code lowest} (the
     * kernel's end).
     *
     * @param file the initrd, copied as it is (compressed or not); mapped while it is copied, and closed after
     * @param memory where it goes
     * @param lowest guest-physical address, normally {@link LoadedKernel#end()}
     * @param limit guest-physical address; the initrd goes as close below it as page alignment allows
     * @return where it went
     * @throws IOException if the file cannot be opened or read
     * @throws InvalidKernelException if the file is empty or bigger than 1 GiB, or it does not fit between
     *     {@code lowest} and {@code limit} in guest RAM
     */
    public static Placement load(Path file, GuestMemory memory, long lowest, long limit)
            throws IOException, InvalidKernelException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(memory, "memory");
        try (Arena arena = Arena.ofConfined();
                FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size == 0) {
                throw new InvalidKernelException("initrd " + file + " is empty");
            }
            if (size > KernelLoader.MAX_IMAGE_SIZE) {
                throw new InvalidKernelException(
                        "initrd " + file + " has " + size + " bytes, more than vmm4j loads (1 GiB)");
            }
            return load(
                    channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena), memory, lowest, limit, file.toString());
        }
    }

    /**
     * Copies the initrd {@code image} into {@code memory} as {@link #load(Path, GuestMemory, long, long)} does.
     *
     * @param image the initrd's bytes; read, not kept
     * @param memory where it goes
     * @param lowest guest-physical address it must not start below, normally {@link LoadedKernel#end()}
     * @param limit guest-physical address it must end at or below (exclusive)
     * @param what names the initrd in errors, such as the file's path
     * @return where it went
     * @throws InvalidKernelException if it is empty or does not fit between {@code lowest} and {@code limit} in guest
     *     RAM
     */
    public static Placement load(MemorySegment image, GuestMemory memory, long lowest, long limit, String what)
            throws InvalidKernelException {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(memory, "memory");
        Objects.requireNonNull(what, "what");
        long size = image.byteSize();
        long address = (limit - size) & -PAGE;
        if (size == 0
                || size > limit
                || Long.compareUnsigned(address, lowest) < 0
                || !memory.isValidRange(address, size)) {
            throw new InvalidKernelException(String.format(
                    Locale.ROOT,
                    "initrd %s (%d MiB) does not fit in guest RAM between the kernel's end %#x and %#x: give the VM more memory",
                    what,
                    size >> 20,
                    lowest,
                    limit));
        }
        try {
            memory.writeFully(address, image);
        } catch (GuestMemoryException e) {
            throw new InvalidKernelException("initrd " + what + ": " + e.getMessage(), e); // checked above
        }
        return new Placement(address, size);
    }
}
