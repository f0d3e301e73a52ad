// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio;

/**
 * How a device tells its driver something happened; the transport turns each call into its interrupt status bits and
 * an interrupt (an irqfd under KVM).
 *
 * <p><b>Thread safety:</b> safe to call from any thread; takes no lock the transport's register accesses hold.
 */
public interface VirtioInterrupt {
    /**
     * The device put buffers in the used ring of queue {@code queueIndex} and the driver asked to be told.
     *
     * @param queueIndex the queue's index in the device, from 0
     */
    void signalUsed(int queueIndex);

    /** The device changed its configuration space. */
    void signalConfigChange();

    /**
     * The device met a state it cannot recover from without a reset (a broken queue): sets DEVICE_NEEDS_RESET and
     * tells the driver. {@code reason} is logged.
     *
     * @param reason what broke, for the log; the driver sees only the status bit
     */
    void signalNeedsReset(String reason);
}
