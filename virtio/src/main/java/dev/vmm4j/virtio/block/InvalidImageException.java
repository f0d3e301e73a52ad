// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A disk image is malformed, or uses a feature vmm4j does not implement; the message names the image and what is
 * wrong (the field, the offset, the feature), so a user can repair it ({@code qemu-img check -r all}) or convert it.
 */
public final class InvalidImageException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * {@code image} is unusable because of {@code problem}.
     *
     * @param image the image file at fault (in a backing chain, the one whose header or tables are wrong)
     * @param problem what is wrong and, where it helps, how to repair it; the message is {@code "disk image <image>:
     *     <problem>"}
     */
    public InvalidImageException(Path image, String problem) {
        super("disk image " + Objects.requireNonNull(image, "image") + ": "
                + Objects.requireNonNull(problem, "problem"));
    }
}
