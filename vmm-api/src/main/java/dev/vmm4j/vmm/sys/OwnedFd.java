// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.sys;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A file descriptor and the duty to close it: {@link #close()} closes it exactly once, however often it is called.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; closing while another thread is inside a call on the
 * descriptor is the caller's race to avoid.
 */
public final class OwnedFd implements AutoCloseable {
    private final int fd;
    private final String what;
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * Takes ownership of {@code fd}; {@code what} names it in errors, such as {@code "vcpu 0"}.
     *
     * @param fd an open fd that nothing else will close; not checked to be open
     * @param what names the fd in errors and {@link #toString()}
     * @throws IllegalArgumentException if {@code fd} is negative
     */
    public OwnedFd(int fd, String what) {
        if (fd < 0) {
            throw new IllegalArgumentException("not a file descriptor: " + fd);
        }
        this.fd = fd;
        this.what = Objects.requireNonNull(what, "what");
    }

    /**
     * {@return the descriptor, still owned by this object}
     *
     * @throws IllegalStateException if it is closed or was released
     */
    public int get() {
        if (closed.get()) {
            throw new IllegalStateException(what + " is closed");
        }
        return fd;
    }

    /** {@return whether {@link #close()} was called} */
    public boolean isClosed() {
        return closed.get();
    }

    /**
     * {@return the descriptor, whose duty to close passes to the caller} This object then counts as closed, and
     * {@link #close()} does nothing.
     *
     * @throws IllegalStateException if it is closed or was released already
     */
    public int release() {
        if (!closed.compareAndSet(false, true)) {
            throw new IllegalStateException(what + " is closed");
        }
        return fd;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Libc.close(fd);
        }
    }

    @Override
    public String toString() {
        return what + " (fd " + fd + (closed.get() ? ", closed)" : ")");
    }
}
