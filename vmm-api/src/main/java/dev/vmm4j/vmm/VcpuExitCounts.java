// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One vCPU's exits by kind, counted by its {@link VcpuLoop} and reported as {@link VcpuExitsEvent}s.
 *
 * <p>Counting costs one increment per exit and nothing else: no allocation, no fence, no lock, whether JFR records or
 * not. Only the vCPU's thread writes the counts, so it reads its own counts plainly and publishes each new value with
 * an opaque store; the reporter (JFR's periodic thread, or the vCPU thread at its end) reads them with opaque loads.
 * Opaque access is what makes a {@code long} whole for the reader (no torn value) without ordering anything else: on
 * x86-64 and AArch64 both are plain moves. A report may see one count a few exits fresher than another; the next
 * report gets the rest, so the reports still add up.
 *
 * <p><b>Thread safety:</b> {@link #count} on the vCPU's thread only; {@link #report} from any thread.
 */
final class VcpuExitCounts {
    static final int IO_IN = 0;
    static final int IO_OUT = 1;
    static final int MMIO_READ = 2;
    static final int MMIO_WRITE = 3;
    static final int HLT = 4;
    static final int INTR = 5;
    static final int SHUTDOWN = 6;
    static final int INTERNAL_ERROR = 7;
    static final int OTHER = 8;
    static final int KINDS = 9;

    private static final VarHandle COUNT = MethodHandles.arrayElementVarHandle(long[].class);

    private final String vm;
    private final int vcpu;
    private final long[] counts = new long[KINDS];
    /** What the reports so far added up to; guarded by {@code this}. */
    private final long[] reported = new long[KINDS];

    VcpuExitCounts(String vm, int vcpu) {
        this.vm = vm;
        this.vcpu = vcpu;
    }

    /** Counts one exit of {@code kind} (one of the constants above). vCPU thread only. */
    void count(int kind) {
        // The only writer: a plain read of its own last value, an opaque store so readers see it whole.
        COUNT.setOpaque(counts, kind, counts[kind] + 1);
    }

    /** {@return the exits of {@code kind} counted so far} From any thread. */
    long get(int kind) {
        return (long) COUNT.getOpaque(counts, kind);
    }

    /**
     * Commits a {@link VcpuExitsEvent} with the exits counted since the previous report, if there were any and the
     * event is enabled.
     *
     * @return whether an event was committed
     */
    synchronized boolean report() {
        if (!JfrEvents.mayRecord()) {
            return false; // and the event class stays unloaded
        }
        VcpuExitsEvent event = new VcpuExitsEvent();
        if (!event.isEnabled()) {
            return false; // the next report, in a later recording, counts from the last one
        }
        long[] delta = new long[KINDS];
        long total = 0;
        for (int kind = 0; kind < KINDS; kind++) {
            long now = get(kind);
            delta[kind] = now - reported[kind];
            reported[kind] = now;
            total += delta[kind];
        }
        if (total == 0) {
            return false;
        }
        event.vm = vm;
        event.vcpu = vcpu;
        event.ioIn = delta[IO_IN];
        event.ioOut = delta[IO_OUT];
        event.mmioRead = delta[MMIO_READ];
        event.mmioWrite = delta[MMIO_WRITE];
        event.hlt = delta[HLT];
        event.intr = delta[INTR];
        event.shutdown = delta[SHUTDOWN];
        event.internalError = delta[INTERNAL_ERROR];
        event.other = delta[OTHER];
        event.total = total;
        event.commit();
        return true;
    }

    @Override
    public String toString() {
        return "VcpuExitCounts[" + vm + " vcpu-" + vcpu + "]";
    }
}
