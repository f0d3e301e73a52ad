// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.resources;

import java.util.Objects;

/** A {@link SystemAllocator} or {@link AddressAllocator} could not give what was asked: the message says what, for whom, and why. */
public final class AllocationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * A failure that {@code message} describes.
     *
     * @param message what was asked, for whom, and why it could not be given
     */
    public AllocationException(String message) {
        super(Objects.requireNonNull(message, "message"));
    }
}
