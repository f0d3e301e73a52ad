// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.balloon;

import java.io.IOException;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * crosvm's low-memory balloon policy, fed by a portable {@link MemoryPressureSource} instead of Chrome OS's
 * low-memory device. Call {@link #tick(long)} periodically (every few hundred milliseconds) with the time:
 *
 * <ul>
 *   <li>when the host is short of memory and the policy is not muted, the balloon grows by one step, up to the
 *       maximum; then the policy is muted for the mute time plus a random jitter (so that several VMs on one host do
 *       not all grow at once), and the reclaim timer is (re)started;</li>
 *   <li>once the reclaim delay has passed since the last growth, and every reclaim interval after that, the balloon
 *       shrinks by one step if the host can spare it ({@link MemoryPressure#canReclaim}), until it is empty.</li>
 * </ul>
 *
 * A target set by someone else (a user's {@code balloon} command) is where the policy goes on from, with the reclaim
 * delay counting from the tick that saw it.
 *
 * <p>{@link Parameters#crosvm(long)} gives crosvm's values: a guest with at least 1.5 GiB may lose all but 1 GiB, one
 * with at least 512 MiB at most half, a smaller one nothing; the step is a sixteenth of the maximum; muted for 1 s
 * plus up to 1 s; reclaim first after 60 s, then every 10 s. The policy reads no clock of its own, so it is tested with
 * a fake one.
 *
 * <p><b>Thread safety:</b> not thread-safe; one timer thread ticks it.
 */
public final class BalloonPolicy {
    private static final System.Logger LOG = System.getLogger(BalloonPolicy.class.getName());

    /**
     * How the policy moves the balloon.
     *
     * @param maxBytes the largest target the policy sets, in bytes; 0 turns the policy off (a target set by someone
     *     else is left alone)
     * @param stepBytes how much one growth or one reclaim moves the target, in bytes; positive unless
     *     {@code maxBytes} is 0
     * @param mute how long after a growth the policy does not grow again, whatever the pressure
     * @param muteJitter the bound of the random time added to each mute (from 0, exclusive of it); zero for none
     * @param reclaimDelay how long after a growth (or a target set by someone else) before the first reclaim
     * @param reclaimInterval the time between reclaims after that; positive
     */
    public record Parameters(
            long maxBytes,
            long stepBytes,
            Duration mute,
            Duration muteJitter,
            Duration reclaimDelay,
            Duration reclaimInterval) {
        /**
         * Checks that sizes are not negative, the step is positive when there is room, durations are not negative,
         * and the reclaim interval is positive.
         *
         * @throws IllegalArgumentException if a check fails
         * @throws NullPointerException if a duration is null
         */
        public Parameters {
            if (maxBytes < 0
                    || stepBytes < 0
                    || (maxBytes > 0 && stepBytes == 0)
                    || mute.isNegative()
                    || muteJitter.isNegative()
                    || reclaimDelay.isNegative()
                    || reclaimInterval.isNegative()
                    || reclaimInterval.isZero()) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "bad balloon policy: max %d, step %d, mute %s + %s, reclaim after %s every %s",
                        maxBytes,
                        stepBytes,
                        mute,
                        muteJitter,
                        reclaimDelay,
                        reclaimInterval));
            }
        }

        /**
         * {@return crosvm's parameters for a guest with {@code guestMemoryBytes} of RAM}
         *
         * @param guestMemoryBytes the guest's RAM in bytes; below 512 MiB (or negative) gives a policy that never
         *     moves the balloon
         */
        public static Parameters crosvm(long guestMemoryBytes) {
            long gib = 1L << 30;
            long max = guestMemoryBytes >= gib * 3 / 2
                    ? guestMemoryBytes - gib
                    : guestMemoryBytes >= gib / 2 ? guestMemoryBytes / 2 : 0;
            return new Parameters(
                    max,
                    max / 16,
                    Duration.ofSeconds(1),
                    Duration.ofSeconds(1),
                    Duration.ofSeconds(60),
                    Duration.ofSeconds(10));
        }
    }

    private final Balloon balloon;
    private final MemoryPressureSource source;
    private final Parameters parameters;
    private final RandomGenerator jitter;
    private long currentBytes = -1;
    private boolean muted;
    private long mutedUntilNanos;
    private long nextReclaimNanos;
    private boolean sourceFailed;

    /**
     * A policy moving {@code balloon} as {@code source} says, with {@code jitter} for the mute time.
     *
     * @param balloon the balloon whose target the policy sets; others may set it too
     * @param source sampled once per tick; while it fails the balloon stays put, and the failure is logged once
     * @param parameters how far, how fast and how often the balloon moves
     * @param jitter draws each mute's random extra time; used only from {@link #tick}'s thread
     * @throws NullPointerException if any argument is null
     */
    public BalloonPolicy(Balloon balloon, MemoryPressureSource source, Parameters parameters, RandomGenerator jitter) {
        this.balloon = Objects.requireNonNull(balloon, "balloon");
        this.source = Objects.requireNonNull(source, "source");
        this.parameters = Objects.requireNonNull(parameters, "parameters");
        this.jitter = Objects.requireNonNull(jitter, "jitter");
    }

    /**
     * Looks at the host at time {@code nowNanos} (any monotonic clock, such as {@link System#nanoTime()}) and moves
     * the balloon if the policy says so.
     *
     * @param nowNanos the time in nanoseconds, from the same clock at every tick; only differences are used, so it
     *     may wrap
     * @return the balloon's target afterwards
     */
    public long tick(long nowNanos) {
        long target = balloon.targetBytes();
        if (target != currentBytes) {
            // The first tick, or someone else (a user's balloon command) moved the balloon: go on from there, and
            // give nothing back before the reclaim delay.
            currentBytes = target;
            nextReclaimNanos = nowNanos + parameters.reclaimDelay().toNanos();
        }
        if (parameters.maxBytes() == 0) {
            return currentBytes;
        }
        MemoryPressure pressure;
        try {
            pressure = source.sample();
            sourceFailed = false;
        } catch (IOException e) {
            if (!sourceFailed) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "balloon policy: cannot read memory pressure (" + e.getMessage() + "); the balloon stays at "
                                + currentBytes + " bytes until it can");
            }
            sourceFailed = true;
            return currentBytes;
        }
        // Times are compared by difference, as System.nanoTime() values must be.
        if (pressure.low() && (!muted || nowNanos - mutedUntilNanos >= 0)) {
            grow(nowNanos);
        } else if (currentBytes > 0 && nowNanos - nextReclaimNanos >= 0) {
            nextReclaimNanos = nowNanos + parameters.reclaimInterval().toNanos();
            if (pressure.canReclaim(parameters.stepBytes())) {
                move(Math.max(0, currentBytes - parameters.stepBytes()));
            }
        }
        return currentBytes;
    }

    private void grow(long nowNanos) {
        move(Math.min(parameters.maxBytes(), currentBytes + parameters.stepBytes()));
        long jitterNanos = parameters.muteJitter().isZero()
                ? 0
                : jitter.nextLong(parameters.muteJitter().toNanos());
        muted = true;
        mutedUntilNanos = nowNanos + parameters.mute().toNanos() + jitterNanos;
        nextReclaimNanos = nowNanos + parameters.reclaimDelay().toNanos();
    }

    private void move(long bytes) {
        if (bytes != currentBytes) {
            currentBytes = bytes;
            balloon.setTargetBytes(bytes);
        }
    }

    /** {@return the balloon's target as of the last tick} */
    public long currentBytes() {
        return currentBytes;
    }

    /** {@return the parameters} */
    public Parameters parameters() {
        return parameters;
    }
}
