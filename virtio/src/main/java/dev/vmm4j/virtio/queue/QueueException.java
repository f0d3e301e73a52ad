// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.queue;

import java.util.Objects;

/**
 * The driver broke a queue as a whole (its rings are not in guest memory, or the avail index jumped by more than
 * the queue size): the device can no longer trust it, stops using it and reports DEVICE_NEEDS_RESET.
 */
public final class QueueException extends Exception {
    private static final long serialVersionUID = 1L;

    /**
     * A broken queue, with what is wrong.
     *
     * @param message what the driver got wrong, with the addresses or indices involved, e.g. {@code "used ring at
     *     0x1002 is not 4-byte aligned"}
     */
    public QueueException(String message) {
        super(Objects.requireNonNull(message, "message"));
    }
}
