// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.loader;

import java.util.Objects;

/** A kernel or initrd image that cannot be loaded: malformed, truncated, too big, or of an unsupported kind. */
public final class InvalidKernelException extends Exception {
    private static final long serialVersionUID = 1L;

    /**
     * A kernel that cannot be loaded, for the reason {@code message} gives.
     *
     * @param message for the user: which image, and what is wrong with it; not null
     */
    public InvalidKernelException(String message) {
        super(Objects.requireNonNull(message, "message"));
    }

    /**
     * A kernel that cannot be loaded, for the reason {@code message} gives, which {@code cause} found.
     *
     * @param message for the user: which image, and what is wrong with it; not null
     * @param cause such as the decompressor's {@code IOException}; not null
     */
    public InvalidKernelException(String message, Throwable cause) {
        super(Objects.requireNonNull(message, "message"), Objects.requireNonNull(cause, "cause"));
    }
}
