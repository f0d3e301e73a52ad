// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.loader;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a kernel went in guest memory: the 64-bit entry point, the guest-physical range it occupies (what the
 * decompressor may still claim included), and, for a bzImage, its setup header, which belongs in
 * {@code boot_params.hdr}.
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
