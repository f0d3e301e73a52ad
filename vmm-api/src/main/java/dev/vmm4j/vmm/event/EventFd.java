// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.event;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A Linux eventfd: a 64-bit counter that {@link #write(long)} adds to and {@link #read()} takes and resets.
 * KVM signals one on a guest write to an ioeventfd address, and injects an interrupt when one registered as
 * an irqfd is written.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; reads and writes use a per-thread buffer.
 */
public final class EventFd implements AutoCloseable {
    private static final ThreadLocal<MemorySegment> COUNTER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(ValueLayout.JAVA_LONG));

    private final OwnedFd fd;
    private final boolean nonBlocking;

    private EventFd(int fd, boolean nonBlocking) {
        this.fd = new OwnedFd(fd, "eventfd");
        this.nonBlocking = nonBlocking;
    }

    /** {@return a new eventfd with counter 0 whose {@link #read()} blocks until the counter is not zero} */
    public static EventFd create() {
        return new EventFd(Libc.eventfd(0, 0), false);
    }

    /** {@return a new eventfd with counter 0 whose {@link #read()} returns 0 at once when nothing was written} */
    public static EventFd createNonBlocking() {
        return new EventFd(Libc.eventfd(0, LinuxHeaders.EFD_NONBLOCK()), true);
    }

    /**
     * {@return an eventfd over {@code fd}, an eventfd another process made and passed over (a device process gets its
     * irqfd and queue notifications so)} It owns {@code fd} from now on; {@code nonBlocking} says how {@code fd} was
     * made.
     *
     * @param fd an eventfd (not checked) that nothing else will close; with {@code O_CLOEXEC} if it should not leak
     *     into child processes
     * @param nonBlocking whether {@code fd} has {@code EFD_NONBLOCK} (not checked: if wrong, {@link #read()} blocks
     *     where it should return 0, or answers 0 where it should block)
     * @throws IllegalArgumentException if {@code fd} is negative
     */
    public static EventFd adopt(int fd, boolean nonBlocking) {
        return new EventFd(fd, nonBlocking);
    }

    /** {@return whether {@link #read()} returns 0 instead of blocking when nothing was written} */
    public boolean isNonBlocking() {
        return nonBlocking;
    }

    /** {@return the file descriptor, for registration with KVM or epoll; it stays owned by this object} */
    public int fd() {
        return fd.get();
    }

    /**
     * Adds {@code value} (at least 1) to the counter, waking readers and KVM's irqfd. Allocates nothing.
     *
     * @param value what to add, 1 or more; 1 is the usual notification
     * @throws IllegalArgumentException if {@code value} is not positive
     * @throws NativeCallException if the write fails: on a non-blocking eventfd, {@code EAGAIN} when the counter would
     *     pass 2^64 - 2 (a blocking one waits for a read instead)
     * @throws IllegalStateException if this eventfd is closed
     */
    public void write(long value) {
        if (value <= 0 || value == -1L) {
            throw new IllegalArgumentException("eventfd value must be positive, got " + value);
        }
        MemorySegment counter = COUNTER.get();
        counter.set(ValueLayout.JAVA_LONG, 0, value);
        long written = Libc.write(fd.get(), counter);
        if (written < 0) {
            throw new NativeCallException("write eventfd", (int) -written);
        }
    }

    /**
     * Takes the counter and resets it to 0. Blocks until it is not zero, unless this eventfd is non-blocking:
     * then returns 0 when nothing was written. Allocates nothing.
     *
     * @return the counter, the sum of the values written since the last read (unsigned, so it may read as negative
     *     past 2^63; 1 from an adopted {@code EFD_SEMAPHORE} eventfd); 0 only from a non-blocking eventfd
     * @throws NativeCallException if the read fails
     * @throws IllegalStateException if this eventfd is closed
     */
    public long read() {
        return readCounter(fd.get(), "eventfd"); // only a non-blocking one answers EAGAIN
    }

    /**
     * {@return the 64-bit counter read from an eventfd or a timerfd, or 0 if the fd is non-blocking and has nothing}
     * Allocates nothing: the buffer is per thread; {@code what} names the fd in a failure.
     */
    static long readCounter(int fd, String what) {
        MemorySegment counter = COUNTER.get();
        long read = Libc.read(fd, counter);
        if (read == -LinuxHeaders.EAGAIN()) {
            return 0;
        }
        if (read < 0) {
            throw new NativeCallException("read " + what, (int) -read);
        }
        return counter.get(ValueLayout.JAVA_LONG, 0);
    }

    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "EventFd[" + fd + "]";
    }
}
