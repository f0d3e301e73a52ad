// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;

/**
 * JFR: what one {@link NetDevice} moved since the previous event for it (or since it was made): emitted every period
 * (one second unless the recording's settings say otherwise) for each active device that moved or refused a frame
 * since, and once more when the driver resets it or it closes. The fields are {@link NetStatistics}'s, as differences.
 * Counting costs the data path nothing beyond the counters it keeps anyway.
 */
@Name("dev.vmm4j.NetTraffic")
@Label("Net Traffic")
@Category({"vmm4j", "virtio", "Net"})
@Description("Frames and bytes a virtio-net device moved each way, and what it dropped, since its previous event")
@Period("1 s")
@StackTrace(false)
final class NetTrafficEvent extends jdk.jfr.Event {
    @Label("Device")
    @Description("The device's host end (its tap)")
    String device;

    @Label("Received Frames")
    @Description("Frames handed to the guest")
    long rxFrames;

    @Label("Received Bytes")
    @Description("Their bytes, virtio-net headers excluded")
    @DataAmount
    long rxBytes;

    @Label("Received Lost")
    @Description("Frames from the host end the guest could not take")
    long rxLost;

    @Label("Sent Frames")
    @Description("Frames the guest sent that the host end took")
    long txFrames;

    @Label("Sent Bytes")
    @Description("Their bytes, virtio-net headers excluded")
    @DataAmount
    long txBytes;

    @Label("Sent Dropped")
    @Description("Frames the guest sent that were dropped")
    long txDropped;

    @Label("Malformed Chains")
    @Description("Chains returned unused")
    long malformedChains;
}
