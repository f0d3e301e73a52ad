// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import jdk.jfr.FlightRecorder;

/**
 * The live vCPUs' exit counts, reported as {@link VcpuExitsEvent}s each period while a recording enables them. A
 * vCPU's counts are registered while its thread runs its loop and forgotten when it ends (after a last report): the
 * registry holds only the counts, never the VM, so it keeps no VM alive and knows no ended one.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class VcpuExitReporter {
    private static final Set<VcpuExitCounts> LIVE = ConcurrentHashMap.newKeySet();

    static {
        // Registering costs nothing per exit: JFR calls the hook only while a recording enables the event. It waits
        // for JFR to be up, as naming the event class would start JFR (see JfrEvents).
        JfrEvents.whenRecorderInitialized(
                () -> FlightRecorder.addPeriodicEvent(VcpuExitsEvent.class, VcpuExitReporter::reportAll));
    }

    private VcpuExitReporter() {}

    /** Reports {@code counts} from now on, until {@link #forget}. */
    static void register(VcpuExitCounts counts) {
        LIVE.add(counts);
    }

    /** Reports what {@code counts} holds that was not reported yet, and stops reporting it. */
    static void forget(VcpuExitCounts counts) {
        LIVE.remove(counts);
        counts.report();
    }

    /** {@return how many vCPUs are reported} */
    static int liveCount() {
        return LIVE.size();
    }

    /** {@return whether {@code counts} is reported} */
    static boolean isLive(VcpuExitCounts counts) {
        return LIVE.contains(counts);
    }

    /** Reports every live vCPU's counts: JFR's periodic hook. */
    static void reportAll() {
        for (VcpuExitCounts counts : LIVE) {
            counts.report();
        }
    }
}
