// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import dev.vmm4j.vmm.JfrEvents;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jdk.jfr.FlightRecorder;

/**
 * The active {@link NetDevice}s' counters, reported as {@link NetTrafficEvent}s each period while a recording enables
 * them. A device's counters are registered while it is active and forgotten, after a last report, when it is reset or
 * closed: the registry holds only the counters and the device's name, so it keeps no device alive.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class NetTrafficReporter {
    private static final Map<NetCounters, String> LIVE = new ConcurrentHashMap<>();

    static {
        // Registering costs the data path nothing: JFR calls the hook only while a recording enables the event. It
        // waits for JFR to be up, as naming the event class would start JFR (see JfrEvents).
        JfrEvents.whenRecorderInitialized(
                () -> FlightRecorder.addPeriodicEvent(NetTrafficEvent.class, NetTrafficReporter::reportAll));
    }

    private NetTrafficReporter() {}

    /** Reports {@code counters} as {@code device} from now on, until {@link #forget}. */
    static void register(NetCounters counters, String device) {
        LIVE.put(counters, device);
    }

    /** Reports what {@code counters} holds that was not reported yet, and stops reporting it. */
    static void forget(NetCounters counters) {
        String device = LIVE.remove(counters);
        if (device != null) {
            counters.report(device);
        }
    }

    /** Reports every registered device's counters: JFR's periodic hook. */
    static void reportAll() {
        LIVE.forEach((counters, device) -> counters.report(device));
    }
}
