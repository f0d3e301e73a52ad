// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.loader;

import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Puts an arm64 kernel {@code Image} and an initrd into guest RAM as the boot protocol asks: the kernel at the first
 * 2 MiB-aligned base of RAM plus its text_offset, the initrd 2 MiB-aligned after the kernel's image_size, both below
 * the device tree's room at the end of RAM.
 */
public final class ArmKernelLoader {
    /**
     * Where the kernel went, and the initrd (start and size) if there is one.
     *
     * @param entry the kernel's guest-physical load address, where vCPU 0 starts
     * @param kernelEnd the guest-physical address just past the kernel's image_size: the running kernel uses all of
     *     {@code [entry, kernelEnd)}, its BSS included, not only what the file filled
     * @param initrd the initrd's guest-physical start, 2 MiB-aligned, and its size in bytes, as {@code {start, size}}
     */
    public record Loaded(long entry, long kernelEnd, Optional<long[]> initrd) {
        /** Checks that the initrd is given, if only as empty. */
        public Loaded {
            Objects.requireNonNull(initrd, "initrd");
        }
    }

    private ArmKernelLoader() {}

    /**
     * Loads {@code kernel} (and {@code initrd}) into RAM {@code [ramBase, limit)}.
     *
     * @param memory the guest's RAM, written and not kept
     * @param ramBase the guest-physical address where RAM starts
     * @param limit where the RAM the files may use ends (exclusive), such as the start of the device tree's room
     * @param kernel an uncompressed arm64 {@code Image} (not {@code Image.gz})
     * @param initrd an initrd or initramfs, copied as is, if there is one
     * @return where they went, for the device tree and vCPU 0
     * @throws InvalidKernelException if the kernel is not an arm64 Image or does not fit
     * @throws IOException if a file cannot be read
     */
    public static Loaded load(GuestMemory memory, long ramBase, long limit, Path kernel, Optional<Path> initrd)
            throws IOException {
        try (FileChannel file = FileChannel.open(kernel, StandardOpenOption.READ)) {
            ByteBuffer header = ByteBuffer.allocate(ArmImage.HEADER_SIZE);
            while (header.hasRemaining() && file.read(header, header.position()) > 0) {
                // read the header
            }
            ArmImage image = ArmImage.parse(kernel.toString(), header.array(), file.size());
            long entry = image.loadAddress(ramBase);
            long kernelEnd = entry + image.imageSize();
            if (kernelEnd > limit) {
                throw new InvalidKernelException(
                        kernel.toString(),
                        String.format(
                                Locale.ROOT,
                                "it needs %d MiB from %#x, more than the guest's RAM below %#x",
                                image.imageSize() >> 20,
                                entry,
                                limit));
            }
            copy(memory, file, entry, kernel);
            Optional<long[]> initrdRange = Optional.empty();
            if (initrd.isPresent()) {
                try (FileChannel initrdFile = FileChannel.open(initrd.get(), StandardOpenOption.READ)) {
                    long start = (kernelEnd + ArmImage.BASE_ALIGNMENT - 1) & -ArmImage.BASE_ALIGNMENT;
                    long size = initrdFile.size();
                    if (start + size > limit) {
                        throw new InvalidKernelException(
                                initrd.get().toString(),
                                String.format(
                                        Locale.ROOT,
                                        "the %d-byte initrd does not fit between the kernel (ending at %#x) and %#x",
                                        size,
                                        kernelEnd,
                                        limit));
                    }
                    copy(memory, initrdFile, start, initrd.get());
                    initrdRange = Optional.of(new long[] {start, size});
                }
            }
            return new Loaded(entry, kernelEnd, initrdRange);
        }
    }

    private static void copy(GuestMemory memory, FileChannel file, long gpa, Path what) throws IOException {
        try {
            if (memory.readFrom(file, 0, gpa, file.size()) != file.size()) {
                throw new IOException(what + " shrank while it was being loaded");
            }
        } catch (GuestMemoryException e) {
            throw new InvalidKernelException(what.toString(), "it does not fit in guest memory: " + e.getMessage());
        }
    }
}
