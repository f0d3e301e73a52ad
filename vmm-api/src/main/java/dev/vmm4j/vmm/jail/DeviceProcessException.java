// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import java.util.Objects;

/**
 * A device process failed: it could not be started, died, did not answer in time, or refused a request. The message
 * names the device and says what happened.
 */
public final class DeviceProcessException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception with {@code message}, which names the device and what happened.
     *
     * @param message the whole message, such as {@code "the device process of virtio-blk-0 has failed"}; not null
     */
    public DeviceProcessException(String message) {
        super(Objects.requireNonNull(message, "message"));
    }

    /**
     * An exception with {@code message} and its {@code cause}.
     *
     * @param message names the device and what happened; not null
     * @param cause what made the process fail; not null
     */
    public DeviceProcessException(String message, Throwable cause) {
        super(Objects.requireNonNull(message, "message"), Objects.requireNonNull(cause, "cause"));
    }
}
