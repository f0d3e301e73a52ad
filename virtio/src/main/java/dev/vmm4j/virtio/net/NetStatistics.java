// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

/**
 * What a virtio-net device has moved and refused since it was made (across driver resets).
 *
 * @param rxFrames frames handed to the guest
 * @param rxBytes their bytes, headers excluded
 * @param rxLost frames from the port the guest could not take, and so were lost: larger than its buffers (the port
 *     cut them short), or shorter than a header
 * @param txFrames frames the guest sent that the port took
 * @param txBytes their bytes, headers excluded
 * @param txDropped frames the guest sent that were dropped: a header the device or the host refused, a frame too
 *     large, the port gone or failing
 * @param malformedChains chains returned unused: malformed, in the wrong direction, or too small for a header
 */
public record NetStatistics(
        long rxFrames, long rxBytes, long rxLost, long txFrames, long txBytes, long txDropped, long malformedChains) {}
