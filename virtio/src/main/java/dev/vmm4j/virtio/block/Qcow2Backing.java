// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

/**
 * Opens a qcow2 image's backing file: its path relative to the image's directory, read-only (locked shared), of the
 * format the header names or, without one, the format its magic says; the chain may not loop back on itself or go
 * deeper than {@link Qcow2Image#MAX_BACKING_DEPTH} images.
 */
final class Qcow2Backing {
    private Qcow2Backing() {}

    /** {@return where the backing file {@code name} of the image {@code path} is: relative names from its directory} */
    static Path locate(Path path, String name) {
        return path.toAbsolutePath().getParent().resolve(name).normalize();
    }

    /** {@return the backing file of {@code path}, whose header is {@code header}, at {@code depth} in a chain of {@code chain}} */
    static DiskImage open(Path path, Qcow2Header header, int depth, Set<Path> chain) throws IOException {
        if (depth + 1 >= Qcow2Image.MAX_BACKING_DEPTH) {
            throw new InvalidImageException(
                    path, "its backing chain is deeper than " + Qcow2Image.MAX_BACKING_DEPTH + " images");
        }
        Path backingPath = locate(path, header.backingFile());
        Path real;
        try {
            real = backingPath.toRealPath();
        } catch (IOException e) {
            throw new InvalidImageException(
                    path, "its backing file " + backingPath + " cannot be opened: " + e.getMessage());
        }
        chain.add(path.toAbsolutePath().normalize());
        try {
            chain.add(path.toRealPath());
        } catch (IOException e) {
            // an inherited fd's path: the normalized one above stands in
        }
        if (chain.contains(real)) {
            throw new InvalidImageException(path, "its backing chain loops back to " + real);
        }
        ImageFile backingFile = ImageFile.open(backingPath, true);
        String format = header.backingFormat();
        if (format == null) {
            return DiskImages.detect(backingFile, depth + 1, chain, false);
        }
        return switch (format) {
            case "raw" -> RawDiskImage.of(backingFile);
            case "qcow2" -> Qcow2Image.of(backingFile, depth + 1, chain);
            default -> {
                backingFile.close();
                throw new InvalidImageException(
                        path, "its backing file format \"" + format + "\" is not supported (raw or qcow2)");
            }
        };
    }
}
