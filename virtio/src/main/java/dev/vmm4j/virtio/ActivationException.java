// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio;

import java.util.Objects;

/** A device cannot start as the driver set it up; the message says why (for example, which queue is missing). */
public final class ActivationException extends Exception {
    private static final long serialVersionUID = 1L;

    /**
     * A failed activation, with why.
     *
     * @param message what is wrong with the setup, such as which queue the driver did not make ready; not null
     */
    public ActivationException(String message) {
        super(Objects.requireNonNull(message, "message"));
    }
}
