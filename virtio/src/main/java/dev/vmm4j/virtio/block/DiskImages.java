// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
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
     *
     * @param path the image file, or {@code /proc/self/fd/N} for an inherited fd N (see {@link RawDiskImage})
     * @param readOnly whether to open it read-only and lock it shared, rather than read-write and exclusive; a qcow2
     *     image's backing files are read-only either way
     * @return the open image, which the caller owns and must close
     * @throws IOException if the image cannot be opened, another process or VM holds a conflicting lock, or it is not a
     *     usable qcow2 image ({@link InvalidImageException}, which names the problem)
     */
    public static DiskImage open(Path path, boolean readOnly) throws IOException {
        return detect(ImageFile.open(path, readOnly), 0, new HashSet<>(), true);
    }

    /**
     * {@return the backing files below the qcow2 image {@code path}, nearest first; empty for a raw image or a qcow2
     * image without one} Read without locking, for what a device process's jail must show (the image opens and locks
     * them itself); a chain that is too deep, loops, or has a file that cannot be read ends where it breaks, and
     * opening the image reports that.
     *
     * @param path the image file; its backing file names are resolved against each image's directory
     * @throws IOException if {@code path} itself cannot be read
     */
    public static List<Path> backingChain(Path path) throws IOException {
        List<Path> chain = new ArrayList<>();
        Set<Path> seen = new HashSet<>();
        Path image = path.toRealPath();
        seen.add(image);
        while (chain.size() < Qcow2Image.MAX_BACKING_DEPTH) {
            Optional<String> backing;
            try {
                backing = backingFileOf(image);
            } catch (IOException | RuntimeException e) {
                if (chain.isEmpty() && image.equals(path.toRealPath())) {
                    throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
                }
                break;
            }
            if (backing.isEmpty()) {
                break;
            }
            Path next;
            try {
                next = Qcow2Backing.locate(image, backing.get()).toRealPath();
            } catch (IOException | RuntimeException e) {
                break;
            }
            if (!seen.add(next)) {
                break;
            }
            chain.add(next);
            image = next;
        }
        return chain;
    }

    /** {@return the backing file name in the header of {@code image}, if it is qcow2 and has one} */
    private static Optional<String> backingFileOf(Path image) throws IOException {
        try (FileChannel file = FileChannel.open(image, StandardOpenOption.READ)) {
            long size = file.size();
            ByteBuffer first = ByteBuffer.allocate((int) Math.min(size, 1 << Qcow2Header.MAX_CLUSTER_BITS));
            while (first.hasRemaining() && file.read(first, first.position()) > 0) {
                // until the first cluster (or the file) is read
            }
            byte[] bytes = Arrays.copyOf(first.array(), first.position());
            if (bytes.length < 4 || ByteBuffer.wrap(bytes).getInt() != Qcow2Header.MAGIC) {
                return Optional.empty();
            }
            return Optional.ofNullable(Qcow2Header.parse(image, bytes, size).backingFile());
        }
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
