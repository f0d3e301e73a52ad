// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

/**
 * The running counts behind {@link NetStatistics}: written by the device's event loop only (so plain increments of
 * volatile fields are exact), read from any thread.
 */
final class NetCounters {
    volatile long rxFrames;
    volatile long rxBytes;
    volatile long rxLost;
    volatile long txFrames;
    volatile long txBytes;
    volatile long txDropped;
    volatile long malformedChains;

    NetStatistics snapshot() {
        return new NetStatistics(rxFrames, rxBytes, rxLost, txFrames, txBytes, txDropped, malformedChains);
    }
}
