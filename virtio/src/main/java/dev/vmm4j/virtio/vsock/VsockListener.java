package dev.vmm4j.virtio.vsock;

import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

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
    private final BlockingQueue<VsockChannel> waiting = new ArrayBlockingQueue<>(BACKLOG);
    private volatile boolean open = true;

    VsockListener(VsockHost host, int port) {
        this.host = host;
        this.port = port;
    }

    /** {@return the host port this listener serves} */
    public int port() {
        return port;
    }

    /** Waits for the guest's next connection. {@return it} @throws InterruptedException if interrupted meanwhile */
    public VsockChannel accept() throws InterruptedException {
        return waiting.take();
    }

    /**
     * Waits up to {@code timeout} for the guest's next connection. {@return it}
     *
     * @throws SocketTimeoutException if none came in time
     */
    public VsockChannel accept(Duration timeout) throws InterruptedException, SocketTimeoutException {
        VsockChannel channel = waiting.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (channel == null) {
            throw new SocketTimeoutException(
                    "no guest connection to host port " + Integer.toUnsignedString(port) + " within " + timeout);
        }
        return channel;
    }

    /** Queues a connection the device made. {@return false if the backlog is full or the listener closed} */
    boolean offer(VsockChannel channel) {
        if (!open || !waiting.offer(channel)) {
            return false;
        }
        if (!open && waiting.remove(channel)) {
            return false; // closed meanwhile: close() may have drained the queue before the offer
        }
        return true;
    }

    boolean isOpen() {
        return open;
    }

    /** Stops listening: the port is free again and waiting connections are closed. Idempotent. */
    @Override
    public void close() {
        open = false;
        host.forget(this);
        VsockChannel channel;
        while ((channel = waiting.poll()) != null) {
            channel.close();
        }
    }

    @Override
    public String toString() {
        return "VsockListener[host port " + Integer.toUnsignedString(port) + (open ? "" : ", closed") + "]";
    }
}
