// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.balloon;

/**
 * A memory balloon in the guest: the host sets a target, the guest's driver gives that much memory back (inflates)
 * or takes it back (deflates), and says how far it got. {@link BalloonDevice} is one; {@link BalloonPolicy} moves one
 * as the host's memory pressure says.
 *
 * <p><b>Thread safety:</b> implementations must be safe for concurrent use.
 */
public interface Balloon {
    /**
     * Asks the guest to give back {@code bytes} of its memory (rounded down to whole 4 KiB pages, and to at most the
     * guest's memory); 0 gives everything back to the guest.
     *
     * @param bytes the balloon's new size in bytes, from 0; the driver is told, and moves in its own time
     * @throws IllegalArgumentException if {@code bytes} is negative
     */
    void setTargetBytes(long bytes);

    /** {@return the memory the host has asked the guest to give back} */
    long targetBytes();

    /** {@return the memory the guest's driver says it has given back} */
    long actualBytes();
}
