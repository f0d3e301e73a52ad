// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import java.util.Objects;
import jdk.jfr.FlightRecorder;
import jdk.jfr.FlightRecorderListener;

/**
 * Whether vmm4j makes its JDK Flight Recorder events at all: only once Flight Recorder is initialized in this JVM (a
 * recording started with {@code -XX:StartFlightRecording}, {@code jcmd PID JFR.start}, or the {@code jdk.jfr} API).
 *
 * <p>Why a gate, when an event nobody records already costs nothing per use: loading the first {@link jdk.jfr.Event}
 * class starts JFR's machinery in the JVM (it rewrites event classes as they load), about 130 ms here, and JDK 25's AOT
 * cache cannot hold event classes. A launcher or an application that never records would pay that at its first VM.
 * Every event site asks {@link #mayRecord()} before it names its event class, so without JFR none is ever loaded; a
 * recording started later sees events from then on.
 *
 * <p>Code that builds on vmm4j with events of its own can use the same gate.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class JfrEvents {
    private JfrEvents() {}

    /**
     * {@return whether Flight Recorder is initialized in this JVM, so that making an event costs no more than the
     * event} False until something starts it; then true for the rest of the JVM's life. Reads one static field.
     */
    public static boolean mayRecord() {
        return FlightRecorder.isInitialized();
    }

    /**
     * Runs {@code action} once Flight Recorder is initialized: now, on this thread, if it is already; otherwise on the
     * thread that initializes it, when that happens (never, in a JVM that never records). For what must touch an event
     * class to be set up, such as {@link FlightRecorder#addPeriodicEvent}.
     *
     * @param action what to do; it must not throw, and runs at most once
     */
    public static void whenRecorderInitialized(Runnable action) {
        Objects.requireNonNull(action, "action");
        // addListener calls recorderInitialized at once if the recorder is initialized already.
        FlightRecorder.addListener(new FlightRecorderListener() {
            private boolean ran;

            @Override
            public synchronized void recorderInitialized(FlightRecorder recorder) {
                if (!ran) {
                    ran = true;
                    action.run();
                }
            }
        });
    }
}
