// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import dev.vmm4j.kvm.bindings.Errno;
import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.vmm.event.Event;
import dev.vmm4j.vmm.event.EventOps;
import dev.vmm4j.vmm.event.EventSet;
import dev.vmm4j.vmm.sys.Libc;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.util.Queue;

/**
 * The host ends of an active vsock device's connections: non-blocking unix stream sockets, from the unix socket
 * bridge's listener ({@code CONNECT <port>} line first), from the Java program's {@link VsockHost#connect}, or made for
 * the guest's own connections. Writes what the guest sent (keeping what a socket has no room for, up to the credit the
 * guest was granted), reads for the guest only when the device has a buffer and credit for it, and watches each socket
 * for exactly what its connection waits for.
 *
 * <p><b>Thread safety:</b> confined to the device's event loop.
 */
final class HostSockets {
    private static final System.Logger LOG = System.getLogger(HostSockets.class.getName());

    static final int MAX_CONNECT_LINE = 32;
    /** The event token of the bridge's listening socket. */
    static final int LISTENER = 3;
    /** How long a host process has to finish its {@code CONNECT <port>} line. */
    static final long CONNECT_LINE_NANOS = 5_000_000_000L;
    /** How long the guest has to answer a host connection (Firecracker's). */
    static final long GUEST_ANSWER_NANOS = 2_000_000_000L;
    /** How long a host socket may leave the guest's last bytes unread once the guest has gone. */
    static final long DRAIN_NANOS = 10_000_000_000L;

    private final String name;
    private final EventOps ops;
    private final VsockConnections connections;
    private final VsockCounters counters;
    private final UnixSocketBridge bridge;
    private final Queue<VsockMuxer.HostConnectRequest> requests;
    private final MemorySegment staging;
    private final Runnable wakeLater;
    private boolean listenerPaused;

    HostSockets(
            String name,
            EventOps ops,
            VsockConnections connections,
            VsockCounters counters,
            UnixSocketBridge bridge,
            Queue<VsockMuxer.HostConnectRequest> requests,
            MemorySegment staging,
            Runnable wakeLater) {
        this.name = name;
        this.wakeLater = wakeLater;
        this.ops = ops;
        this.connections = connections;
        this.counters = counters;
        this.bridge = bridge;
        this.requests = requests;
        this.staging = staging;
        if (bridge != null) {
            ops.add(bridge.listenerFd(), EventSet.IN, LISTENER);
        }
    }

    // ---- new connections from the host ----

    /** Accepts every host process waiting on the bridge's socket. */
    void accept() {
        while (true) {
            int fd = Libc.accept(bridge.listenerFd());
            if (fd == -LinuxHeaders.EAGAIN()) {
                return;
            }
            if (fd == -LinuxHeaders.EINTR() || fd == -LinuxHeaders.ECONNABORTED()) {
                continue;
            }
            if (fd < 0) {
                // Out of fds: the listener would stay readable and spin the loop; the next tick tries again.
                LOG.log(
                        System.Logger.Level.WARNING,
                        name + ": cannot accept on " + bridge + ": " + Errno.describe(-fd) + "; trying again shortly");
                listenerPaused = true;
                ops.remove(bridge.listenerFd());
                wakeLater.run();
                return;
            }
            VsockConnection connection =
                    connections.add(VsockConnection.Origin.HOST_SOCKET, fd, VsockConnection.State.AWAITING_LINE);
            if (connection == null) {
                counters.connectionsRefused++; // the device has its most connections
                Libc.close(fd);
                continue;
            }
            connections.setDeadline(connection, System.nanoTime() + CONNECT_LINE_NANOS);
            watch(connection);
        }
    }

    /** {@return whether the listener waits for a tick to be watched again} */
    boolean listenerPaused() {
        return listenerPaused;
    }

    /** Watches the listener again after a failed accept. */
    void resumeListener() {
        if (listenerPaused) {
            listenerPaused = false;
            ops.add(bridge.listenerFd(), EventSet.IN, LISTENER);
        }
    }

    /** Takes the Java program's connects to guest ports. */
    void takeRequests() {
        VsockMuxer.HostConnectRequest request;
        while ((request = requests.poll()) != null) {
            if (request.hostPort().isDone()) {
                Libc.close(request.fd()); // the caller stopped waiting already
                continue;
            }
            VsockConnection connection =
                    connections.add(VsockConnection.Origin.HOST_API, request.fd(), VsockConnection.State.CONNECTING);
            if (connection == null) {
                request.hostPort()
                        .completeExceptionally(new ConnectException(
                                "the vsock device has " + connections.capacity() + " connections, its limit"));
                Libc.close(request.fd());
                continue;
            }
            connection.established = request.hostPort();
            connectToGuest(connection, request.guestPort(), request.deadline());
        }
    }

    /** Gives a host connection a free port of its own and has the guest sent its REQUEST. */
    private void connectToGuest(VsockConnection connection, int guestPort, long deadline) {
        connection.state = VsockConnection.State.CONNECTING;
        connections.bindPorts(connection, connections.freeHostPort(guestPort), guestPort);
        connections.owes(connection, VsockConnection.OWES_REQUEST);
        connections.setDeadline(connection, deadline);
        watch(connection);
    }

    /** Reads the host's {@code CONNECT <port>} line a byte at a time, so that no byte of the stream after it is taken. */
    private void readConnectLine(VsockConnection connection) {
        while (true) {
            long n = Libc.read(connection.fd, staging, 0, 1);
            if (n == -LinuxHeaders.EAGAIN()) {
                if (connection.hostHungUp) {
                    connections.remove(connection);
                }
                return;
            }
            if (n <= 0) {
                connections.remove(connection); // the host went away before it said where to
                return;
            }
            byte b = staging.get(ValueLayout.JAVA_BYTE, 0);
            if (b == '\n') {
                long port = UnixSocketBridge.parseConnectLine(connection.line, connection.lineLength);
                if (port < 0) {
                    refuseLine(connection);
                    return;
                }
                connectToGuest(connection, (int) port, System.nanoTime() + GUEST_ANSWER_NANOS);
                return;
            }
            if (connection.lineLength == connection.line.length) {
                refuseLine(connection);
                return;
            }
            connection.line[connection.lineLength++] = b;
        }
    }

    private void refuseLine(VsockConnection connection) {
        counters.connectionsRefused++;
        LOG.log(
                System.Logger.Level.DEBUG,
                () -> name + ": refused a host connection that did not start with CONNECT <port>");
        connections.remove(connection);
    }

    /**
     * Tells the host end the guest accepted.
     *
     * @return false if it cannot be told (the connection is reset)
     */
    boolean established(VsockConnection connection) {
        switch (connection.origin) {
            case HOST_SOCKET -> {
                byte[] ok = ("OK " + Integer.toUnsignedString(connection.hostPort) + "\n")
                        .getBytes(StandardCharsets.US_ASCII);
                MemorySegment.copy(ok, 0, staging, ValueLayout.JAVA_BYTE, 0, ok.length);
                // A new socket's buffer takes a line this short at once; if not, the host end is in no state to talk.
                if (Libc.send(connection.fd, staging, 0, ok.length) != ok.length) {
                    connections.reset(connection);
                    return false;
                }
            }
            case HOST_API -> {
                if (!connection.established.complete(connection.hostPort)) {
                    connections.reset(connection); // the caller stopped waiting
                    return false;
                }
            }
            case GUEST -> throw new IllegalStateException("a guest connection is established from the start");
        }
        connection.state = VsockConnection.State.ESTABLISHED;
        connections.setDeadline(connection, 0);
        counters.connectionsOpened++;
        watch(connection);
        return true;
    }

    // ---- bytes both ways ----

    /** What epoll reported for a connection's socket. */
    void socketEvent(VsockConnection connection, Event event) {
        boolean newlyHungUp = event.isErrorOrHangUp() && !connection.hostHungUp;
        if (event.isErrorOrHangUp()) {
            connection.hostHungUp = true; // epoll keeps reporting it: stop watching, or the loop would spin
        }
        switch (connection.state) {
            case AWAITING_LINE -> readConnectLine(connection);
            case CONNECTING -> {
                if (connection.hostHungUp) {
                    connections.reset(connection); // the host gave up before the guest answered
                }
            }
            case ESTABLISHED, DRAINING -> {
                if (connection.pendingSize() > 0 && (event.isWritable() || connection.hostHungUp)) {
                    flush(connection);
                }
                if (!connections.isLive(connection)) {
                    return;
                }
                if ((event.isReadable() || connection.hostHungUp) && connection.canReadHost()) {
                    connections.queueReadable(connection);
                }
                if (newlyHungUp && connection.hostSendDone && connection.state == VsockConnection.State.ESTABLISHED) {
                    // The host shut its side earlier and has now closed: it will not read either.
                    shutdownToGuest(connection, VsockHeader.SHUTDOWN_RCV | VsockHeader.SHUTDOWN_SEND);
                }
            }
        }
        if (connections.isLive(connection)) {
            watch(connection);
        }
    }

    /** Has the guest told the host side will send (and perhaps receive) no more, and waits for its reset if both. */
    void shutdownToGuest(VsockConnection connection, int flags) {
        connection.shutdownFlags |= flags;
        connections.owes(connection, VsockConnection.OWES_SHUTDOWN);
        if (connection.shutdownFlags == (VsockHeader.SHUTDOWN_RCV | VsockHeader.SHUTDOWN_SEND)) {
            connections.setDeadline(connection, System.nanoTime() + GUEST_ANSWER_NANOS); // then reset from this side
        }
    }

    /**
     * Writes {@code length} bytes the guest sent (in {@link #staging}) to the host socket, keeping what it has no room
     * for; the caller has checked the credit. A socket that fails resets the connection.
     */
    void forward(VsockConnection connection, int length) {
        connection.rxCnt += length;
        int sent = 0;
        if (connection.pendingSize() == 0) {
            long n = Libc.send(connection.fd, staging, 0, length);
            if (n < 0 && n != -LinuxHeaders.EAGAIN()) {
                hostFailed(connection);
                return;
            }
            sent = (int) Math.max(0, n);
        }
        connection.fwdCnt += sent;
        counters.bytesToHost += sent;
        if (sent < length) {
            connection.appendPending(staging, sent, length - sent);
            watch(connection);
        }
        if (connection.guestNeedsCreditUpdate()) {
            connections.owes(connection, VsockConnection.OWES_CREDIT_UPDATE);
        }
    }

    /** Writes what the guest sent and the host socket had no room for. */
    void flush(VsockConnection connection) {
        boolean progress = false;
        while (connection.pendingSize() > 0) {
            int n = connection.peekPending(staging);
            long sent = Libc.send(connection.fd, staging, 0, n);
            if (sent == -LinuxHeaders.EAGAIN()) {
                break;
            }
            if (sent < 0) {
                hostFailed(connection);
                return;
            }
            connection.consumePending((int) sent);
            connection.fwdCnt += (int) sent;
            counters.bytesToHost += sent;
            progress = true;
        }
        if (connection.state == VsockConnection.State.DRAINING) {
            if (connection.pendingSize() == 0) {
                connections.remove(connection);
            } else if (progress) {
                connections.setDeadline(connection, System.nanoTime() + DRAIN_NANOS);
            }
            return;
        }
        if (connection.guestNeedsCreditUpdate()) {
            connections.owes(connection, VsockConnection.OWES_CREDIT_UPDATE); // also midway: the guest may be waiting
        }
        shutWriteIfDone(connection);
    }

    /** Shuts the host socket's write side once the guest is done sending and all it sent is written. */
    void shutWriteIfDone(VsockConnection connection) {
        if (connection.guestSendDone && connection.pendingSize() == 0 && !connection.hostWriteShut) {
            connection.hostWriteShut = true;
            Libc.shutdown(connection.fd, LinuxHeaders.SHUT_WR());
        }
    }

    /**
     * Reads up to {@code max} bytes from the host socket into {@link #staging}. {@return the bytes, 0 at the end of
     * the host's stream, or {@code -EAGAIN} when there are none now} A failing socket resets the connection, and
     * reads as the end.
     */
    long read(VsockConnection connection, int max) {
        long n = Libc.read(connection.fd, staging, 0, max);
        if (n == -LinuxHeaders.EAGAIN() && connection.hostHungUp) {
            return 0; // nothing more will come
        }
        if (n < 0 && n != -LinuxHeaders.EAGAIN()) {
            connections.reset(connection);
            return 0;
        }
        return n;
    }

    /** The host end failed or is gone while the guest still had something for it. */
    private void hostFailed(VsockConnection connection) {
        if (connection.state == VsockConnection.State.DRAINING) {
            connections.remove(connection);
        } else {
            connections.reset(connection);
        }
    }

    /** Watches a connection's socket for what it waits for now: data it may read, room for bytes it holds. */
    void watch(VsockConnection connection) {
        if (connection.hostHungUp) {
            connections.watch(connection, -1);
            return;
        }
        boolean wantsInput = connection.state == VsockConnection.State.AWAITING_LINE
                || (connection.canReadHost() && !connection.inReadableQueue && connection.peerCredit() > 0);
        int wanted = (wantsInput ? EventSet.IN : 0) | (connection.pendingSize() > 0 ? EventSet.OUT : 0);
        connections.watch(connection, wanted);
    }
}
