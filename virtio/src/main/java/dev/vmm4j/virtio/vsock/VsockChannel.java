// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import dev.vmm4j.kvm.bindings.Errno;
import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.vmm.sys.Libc;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One stream connection to a guest port, for a Java program on the host: a blocking {@link ByteChannel}, like a
 * connected {@code SocketChannel} (wrap it with {@code java.nio.channels.Channels.newInputStream} and
 * {@code newOutputStream} for streams). Made by {@link VsockHost#connect} and {@link VsockListener#accept}.
 *
 * <p>Reads block until the guest sends something and return -1 once the guest will send no more; writes block while
 * the guest has granted no credit (it is not reading). {@link #shutdownOutput()} tells the guest this side will send no
 * more, as a socket's does.
 *
 * <p><b>Ownership:</b> the caller owns the channel and must close it.
 *
 * <p><b>Thread safety:</b> one reader and one writer may use it at once; {@link #close()} from any thread wakes both.
 */
public final class VsockChannel implements ByteChannel {
    private static final int CHUNK = 64 * 1024;

    private final int fd;
    private final int hostPort;
    private final int guestPort;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment readBuffer = arena.allocate(CHUNK);
    private final MemorySegment writeBuffer = arena.allocate(CHUNK);
    private final ReentrantLock readLock = new ReentrantLock();
    private final ReentrantLock writeLock = new ReentrantLock();
    private volatile boolean open = true;

    VsockChannel(int fd, int hostPort, int guestPort) {
        this.fd = fd;
        this.hostPort = hostPort;
        this.guestPort = guestPort;
    }

    /** {@return the host's port of the connection, as the guest sees it} */
    public int hostPort() {
        return hostPort;
    }

    /** {@return the guest's port of the connection} */
    public int guestPort() {
        return guestPort;
    }

    /**
     * Reads what the guest sent into {@code target}, waiting for at least one byte.
     *
     * @return the bytes read, or -1 when the guest will send no more
     */
    @Override
    public int read(ByteBuffer target) throws IOException {
        readLock.lock();
        try {
            requireOpen();
            if (!target.hasRemaining()) {
                return 0;
            }
            long n;
            do {
                n = Libc.read(fd, readBuffer, 0, Math.min(target.remaining(), CHUNK));
            } while (n == -LinuxHeaders.EINTR());
            if (n < 0) {
                requireOpen();
                throw new IOException("vsock read from guest port " + Integer.toUnsignedString(guestPort) + " failed: "
                        + Errno.describe((int) -n));
            }
            if (n == 0) {
                return -1;
            }
            target.put(readBuffer.asSlice(0, n).asByteBuffer());
            return (int) n;
        } finally {
            readLock.unlock();
        }
    }

    /**
     * Writes all of {@code source} to the guest, waiting for credit as needed.
     *
     * @return the bytes written
     */
    @Override
    public int write(ByteBuffer source) throws IOException {
        writeLock.lock();
        try {
            int total = 0;
            while (source.hasRemaining()) {
                requireOpen();
                int chunk = Math.min(source.remaining(), CHUNK);
                writeBuffer.asSlice(0, chunk).asByteBuffer().put(source.slice(source.position(), chunk));
                int done = 0;
                while (done < chunk) {
                    long n = Libc.sendWaiting(fd, writeBuffer, done, chunk - done);
                    if (n == -LinuxHeaders.EINTR()) {
                        continue;
                    }
                    if (n < 0) {
                        requireOpen();
                        throw new IOException("vsock write to guest port " + Integer.toUnsignedString(guestPort)
                                + " failed: "
                                + (n == -LinuxHeaders.EPIPE() ? "the connection is closed" : Errno.describe((int) -n)));
                    }
                    done += (int) n;
                }
                source.position(source.position() + chunk);
                total += chunk;
            }
            return total;
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Tells the guest this side will send no more; reading goes on.
     *
     * @throws java.nio.channels.ClosedChannelException if the channel is closed; a failing {@code shutdown(2)} itself
     *     is not reported
     */
    public void shutdownOutput() throws IOException {
        writeLock.lock(); // close() takes it too: the fd cannot be closed, and its number reused, meanwhile
        try {
            requireOpen();
            Libc.shutdown(fd, LinuxHeaders.SHUT_WR());
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    /** Closes the connection (the guest sees it reset or shut down); a blocked read or write returns. Idempotent. */
    @Override
    public synchronized void close() {
        if (!open) {
            return;
        }
        open = false;
        Libc.shutdown(fd, LinuxHeaders.SHUT_RDWR()); // wakes a reader or writer blocked on the fd
        readLock.lock();
        writeLock.lock();
        try {
            Libc.close(fd);
            arena.close();
        } finally {
            writeLock.unlock();
            readLock.unlock();
        }
    }

    private void requireOpen() throws ClosedChannelException {
        if (!open) {
            throw new ClosedChannelException();
        }
    }

    @Override
    public String toString() {
        return "VsockChannel[host port " + Integer.toUnsignedString(hostPort) + " <-> guest port "
                + Integer.toUnsignedString(guestPort) + (open ? "" : ", closed") + "]";
    }
}
