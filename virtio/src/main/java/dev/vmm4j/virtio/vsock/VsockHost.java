// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.vmm.sys.Libc;
import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The host's side of a VM's vsock device for the Java program that embeds vmm4j: accept the guest's connections to a
 * host port ({@link #listen}) and connect to a guest port ({@link #connect}), each connection a {@link VsockChannel},
 * with no unix socket in between. Give it to {@link VsockConfig#withHost}; listeners may be opened before the VM is
 * built.
 *
 * <p>A guest connection to a host port with a listener here goes to the listener; one to any other port goes to the
 * unix socket backend, if the device has one ({@code <path>_<port>}), and is refused otherwise.
 *
 * <p><b>Ownership:</b> holds nothing to close; the listeners and channels it makes are the caller's.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class VsockHost {
    private final ConcurrentHashMap<Integer, VsockListener> listeners = new ConcurrentHashMap<>();
    private volatile VsockDevice device;

    /** A host side serving no VM yet. */
    public VsockHost() {}

    /**
     * {@return a listener for the guest's connections to host port {@code port}} (any 32-bit value; the guest sees it
     * unsigned)
     *
     * @param port the host port, any 32-bit value (read unsigned); free again once its listener is closed
     * @throws IllegalStateException if the port already has an open listener
     */
    public VsockListener listen(int port) {
        VsockListener listener = new VsockListener(this, port);
        if (listeners.putIfAbsent(port, listener) != null) {
            throw new IllegalStateException(
                    "host port " + Integer.toUnsignedString(port) + " already has a listener; close it first");
        }
        return listener;
    }

    /**
     * Connects to guest port {@code guestPort}, waiting up to {@code timeout} for the guest to answer.
     *
     * @param guestPort the guest port, any 32-bit value (read unsigned)
     * @param timeout how long to wait for the guest to accept or refuse
     * @return the connection
     * @throws ConnectException if no VM uses this host yet, the guest's driver is not running, or the guest refused
     *     (nothing listens on that port)
     * @throws java.net.SocketTimeoutException if the guest did not answer in time
     * @throws InterruptedException if interrupted while waiting
     */
    public VsockChannel connect(int guestPort, Duration timeout) throws IOException, InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        VsockDevice serving = device;
        if (serving == null) {
            throw new ConnectException("no VM uses this VsockHost: give it to VsockConfig.withHost and build the VM");
        }
        return serving.connectFromHost(guestPort, timeout);
    }

    void attach(VsockDevice vsock) {
        synchronized (this) {
            if (device != null && device != vsock) {
                throw new IllegalStateException("this VsockHost already serves another VM's vsock device");
            }
            device = vsock;
        }
    }

    synchronized void detach(VsockDevice vsock) {
        if (device == vsock) {
            device = null;
        }
    }

    boolean hasListener(int hostPort) {
        VsockListener listener = listeners.get(hostPort);
        return listener != null && listener.isOpen();
    }

    /**
     * Hands a guest connection to {@code hostPort}'s listener. {@return the device's end of it, a non-blocking socket,
     * or {@code -errno} if the port has no listener or its backlog is full}
     */
    int acceptGuestConnection(int hostPort, int guestPort) {
        VsockListener listener = listeners.get(hostPort);
        if (listener == null || !listener.isOpen()) {
            return -LinuxHeaders.ECONNREFUSED();
        }
        int[] pair;
        try {
            pair = Libc.socketpair(LinuxHeaders.SOCK_STREAM());
        } catch (NativeCallException e) {
            return -e.errno();
        }
        Libc.fcntl(pair[0], LinuxHeaders.F_SETFL(), LinuxHeaders.O_NONBLOCK());
        VsockChannel channel = new VsockChannel(pair[1], hostPort, guestPort);
        if (!listener.offer(channel)) {
            channel.close();
            Libc.close(pair[0]);
            return -LinuxHeaders.ECONNREFUSED();
        }
        return pair[0];
    }

    void forget(VsockListener listener) {
        listeners.remove(listener.port(), listener);
    }

    @Override
    public String toString() {
        return "VsockHost[listening on " + listeners.keySet() + "]";
    }
}
