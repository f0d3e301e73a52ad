// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.loader;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a kernel went in guest memory: the 64-bit entry point, the guest-physical range it occupies (what the
 * decompressor may still claim included), and, for a bzImage, its setup header, which belongs in
 * {@code boot_params.hdr}.
 *
 * @param entry guest-physical address of the 64-bit entry point, where the boot vCPU's {@code rip} starts
 * @param start guest-physical address of the lowest byte the kernel occupies
 * @param end guest-physical address just past the highest (exclusive): where an initrd may start
 * @param setupHeader the bzImage's setup header from file offset 0x1f1 (the array is not copied); empty for an ELF
 *     vmlinux
 */
public record LoadedKernel(long entry, long start, long end, Optional<byte[]> setupHeader) {
    /** Checks that the setup header is given, if only as empty. */
    public LoadedKernel {
        Objects.requireNonNull(setupHeader, "setupHeader");
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "LoadedKernel[entry %#x, [%#x, %#x)%s]",
                entry,
                start,
                end,
                setupHeader.isPresent() ? ", bzImage" : "");
    }
}
