// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import dev.vmm4j.vmm.JfrEvents;

/**
 * The running counts behind {@link NetStatistics}: written by the device's event loop only (so plain increments of
 * volatile fields are exact), read from any thread; reported to JFR by {@link NetTrafficReporter}.
 */
final class NetCounters {
    volatile long rxFrames;
    volatile long rxBytes;
    volatile long rxLost;
    volatile long txFrames;
    volatile long txBytes;
    volatile long txDropped;
    volatile long malformedChains;

    /** What the {@link NetTrafficEvent}s so far added up to; guarded by {@code this}. */
    private NetStatistics reported = new NetStatistics(0, 0, 0, 0, 0, 0, 0);

    NetStatistics snapshot() {
        return new NetStatistics(rxFrames, rxBytes, rxLost, txFrames, txBytes, txDropped, malformedChains);
    }

    /**
     * Commits a {@link NetTrafficEvent} for {@code device} with what changed since the previous one, if anything did
     * and a recording enables the event. From any thread.
     *
     * @return whether an event was committed
     */
    synchronized boolean report(String device) {
        if (!JfrEvents.mayRecord()) {
            return false; // and the event class stays unloaded
        }
        NetTrafficEvent event = new NetTrafficEvent();
        if (!event.isEnabled()) {
            return false; // the next report, in a later recording, counts from the last one
        }
        NetStatistics now = snapshot();
        NetStatistics before = reported;
        if (now.equals(before)) {
            return false;
        }
        reported = now;
        event.device = device;
        event.rxFrames = now.rxFrames() - before.rxFrames();
        event.rxBytes = now.rxBytes() - before.rxBytes();
        event.rxLost = now.rxLost() - before.rxLost();
        event.txFrames = now.txFrames() - before.txFrames();
        event.txBytes = now.txBytes() - before.txBytes();
        event.txDropped = now.txDropped() - before.txDropped();
        event.malformedChains = now.malformedChains() - before.malformedChains();
        event.commit();
        return true;
    }
}
