// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import java.io.IOException;
import java.util.Objects;

/** A tap could not be created, adopted or configured; the message says which, why, and what to do about it. */
public final class TapException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception with {@code message}.
     *
     * @param message which tap operation failed, why, and what to do about it; not null
     */
    public TapException(String message) {
        super(Objects.requireNonNull(message, "message"));
    }

    /**
     * An exception with {@code message}, caused by {@code cause}.
     *
     * @param message which tap operation failed, why, and what to do about it; not null
     * @param cause the failure underneath, such as a failed system call; not null
     */
    public TapException(String message, Throwable cause) {
        super(Objects.requireNonNull(message, "message"), Objects.requireNonNull(cause, "cause"));
    }
}
