// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.event;

import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.time.Duration;
import java.util.Objects;

/**
 * A non-blocking Linux timerfd on the monotonic clock: readable once it has expired, so an {@link EventLoop}
 * subscriber can watch it like any fd to run something later or periodically without a thread of its own.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class TimerFd implements AutoCloseable {
    private final OwnedFd fd;

    private TimerFd(int fd) {
        this.fd = new OwnedFd(fd, "timerfd");
    }

    /** {@return a new, disarmed timer} */
    public static TimerFd create() {
        return new TimerFd(Libc.timerfdCreate());
    }

    /** {@return the file descriptor, for epoll; it stays owned by this object} */
    public int fd() {
        return fd.get();
    }

    /**
     * Arms the timer to expire after {@code first}, then every {@code interval} ({@link Duration#ZERO}: once).
     * Replaces an earlier arming, and drops expirations not yet read.
     *
     * @param first from now until the first expiry, on the monotonic clock; positive
     * @param interval between later expiries; {@link Duration#ZERO} for none
     * @throws IllegalArgumentException if {@code first} is not positive or {@code interval} is negative
     * @throws ArithmeticException if either is too long to count in nanoseconds as a {@code long} (about 292 years)
     * @throws IllegalStateException if this timer is closed
     */
    public void arm(Duration first, Duration interval) {
        Objects.requireNonNull(first, "first");
        Objects.requireNonNull(interval, "interval");
        if (first.isNegative() || first.isZero() || interval.isNegative()) {
            throw new IllegalArgumentException(
                    "a timer needs a positive first expiry and an interval of 0 or more, not " + first + ", "
                            + interval);
        }
        Libc.timerfdSettime(fd.get(), first.toNanos(), interval.toNanos());
    }

    /**
     * Stops the timer, and drops expirations not yet read: the fd is no longer readable, and {@link #read()} returns
     * 0 until the timer is armed again and expires.
     *
     * @throws IllegalStateException if this timer is closed
     */
    public void disarm() {
        Libc.timerfdSettime(fd.get(), 0, 0);
    }

    /**
     * Takes the expirations since the last read.
     *
     * @return how many, 0 if none
     */
    public long read() {
        return EventFd.readCounter(fd.get(), "timerfd");
    }

    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "TimerFd[" + fd + "]";
    }
}
