// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/** Opens a disk image of whichever format it is: qcow2 by its magic, raw otherwise. */
public final class DiskImages {
    private DiskImages() {}

    /**
     * Opens and locks {@code path} as qcow2 if it starts with qcow2's magic, else as raw.
     *
     * <p>A raw image found this way cannot be given qcow2's magic by the guest: qemu's guard against a guest that
     * writes an image header into its disk, so that the next probe reads the host's files through a backing file of
     * the guest's choosing. Name the format ({@link RawDiskImage#open}) to lift it.
     */
    public static DiskImage open(Path path, boolean readOnly) throws IOException {
        return detect(ImageFile.open(path, readOnly), 0, new HashSet<>(), true);
    }

    /** Checks that an access of {@code length} bytes at {@code position} lies inside a disk of {@code sizeBytes}. */
    static void checkRange(Object image, long sizeBytes, long position, long length) throws IOException {
        if (position < 0 || length < 0 || position > sizeBytes - length) {
            throw new IOException("access of " + length + " bytes at " + position + " is outside the " + sizeBytes
                    + "-byte disk " + image);
        }
    }

    /** The image in {@code file}, which it then owns. */
    static DiskImage detect(ImageFile file, int depth, Set<Path> chain, boolean guardRaw) throws IOException {
        long size;
        byte[] magic;
        try {
            size = file.size();
            magic = size >= 4 ? file.readBytes(0, 4) : new byte[4];
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
        if (ByteBuffer.wrap(magic).getInt() == Qcow2Header.MAGIC) {
            return Qcow2Image.of(file, depth, chain);
        }
        RawDiskImage raw = RawDiskImage.of(file);
        return guardRaw ? new ProbedRawImage(raw) : raw;
    }
}
