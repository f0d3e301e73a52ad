// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

/**
 * The running counts behind {@link VsockStatistics}: written by the device's event loop only (so plain increments of
 * volatile fields are exact), read from any thread.
 */
final class VsockCounters {
    volatile long connectionsOpened;
    volatile long connectionsRefused;
    volatile long activeConnections;
    volatile long bytesToHost;
    volatile long bytesToGuest;
    volatile long resetsSent;
    volatile long resetsDropped;
    volatile long badPackets;
    volatile long creditViolations;
    volatile long malformedChains;

    VsockStatistics snapshot() {
        return new VsockStatistics(
                connectionsOpened,
                connectionsRefused,
                activeConnections,
                bytesToHost,
                bytesToGuest,
                resetsSent,
                resetsDropped,
                badPackets,
                creditViolations,
                malformedChains);
    }
}
