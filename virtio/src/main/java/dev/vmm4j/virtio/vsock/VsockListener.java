// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Accepts the guest's connections to one host port, for a Java program on the host (made by {@link VsockHost#listen}):
 * like a {@code ServerSocketChannel}. Connections the program has not accepted yet wait here, up to
 * {@value #BACKLOG}; the guest's further attempts are refused.
 *
 * <p><b>Ownership:</b> the caller owns the listener and the channels it accepts; {@link #close()} frees the port and
 * closes the connections still waiting.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class VsockListener implements AutoCloseable {
    /** The connections that may wait to be accepted. */
    public static final int BACKLOG = 128;

    private final VsockHost host;
    private final int port;
    private final ArrayDeque<VsockChannel> waiting = new ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private boolean open = true;

    VsockListener(VsockHost host, int port) {
        this.host = host;
        this.port = port;
    }

    /** {@return the host port this listener serves} */
    public int port() {
        return port;
    }

    /**
     * Waits for the guest's next connection.
     *
     * @return the connection
     * @throws ClosedChannelException if the listener is closed, before or while waiting
     * @throws InterruptedException if interrupted while waiting
     */
    public VsockChannel accept() throws ClosedChannelException, InterruptedException {
        lock.lock();
        try {
            while (waiting.isEmpty()) {
                requireOpen();
                arrived.await();
            }
            return waiting.poll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits up to {@code timeout} for the guest's next connection.
     *
     * @param timeout how long to wait; zero or negative takes a connection only if one is already waiting
     * @return the connection
     * @throws SocketTimeoutException if none came in time
     * @throws ClosedChannelException if the listener is closed, before or while waiting
     * @throws InterruptedException if interrupted while waiting
     */
    public VsockChannel accept(Duration timeout) throws IOException, InterruptedException {
        long left = timeout.toNanos();
        lock.lock();
        try {
            while (waiting.isEmpty()) {
                requireOpen();
                if (left <= 0) {
                    throw new SocketTimeoutException("no guest connection to host port "
                            + Integer.toUnsignedString(port) + " within " + timeout);
                }
                left = arrived.awaitNanos(left);
            }
            return waiting.poll();
        } finally {
            lock.unlock();
        }
    }

    private void requireOpen() throws ClosedChannelException {
        if (!open) {
            throw new ClosedChannelException();
        }
    }

    /**
     * Queues a connection the device made.
     *
     * @return false if the backlog is full or the listener closed
     */
    boolean offer(VsockChannel channel) {
        lock.lock();
        try {
            if (!open || waiting.size() == BACKLOG) {
                return false;
            }
            waiting.add(channel);
            arrived.signal();
            return true;
        } finally {
            lock.unlock();
        }
    }

    boolean isOpen() {
        lock.lock();
        try {
            return open;
        } finally {
            lock.unlock();
        }
    }

    /** Stops listening: the port is free again, waiting connections are closed, and waiting accepts fail. Idempotent. */
    @Override
    public void close() {
        lock.lock();
        try {
            open = false;
            arrived.signalAll();
            waiting.forEach(VsockChannel::close);
            waiting.clear();
        } finally {
            lock.unlock();
        }
        host.forget(this);
    }

    @Override
    public String toString() {
        return "VsockListener[host port " + Integer.toUnsignedString(port) + (isOpen() ? "" : ", closed") + "]";
    }
}
