// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import dev.vmm4j.virtio.VirtioInterrupt;
import dev.vmm4j.virtio.queue.DescriptorChain;
import dev.vmm4j.virtio.queue.QueueException;
import dev.vmm4j.virtio.queue.SplitQueue;
import dev.vmm4j.vmm.event.Event;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventOps;
import dev.vmm4j.vmm.event.EventSet;
import dev.vmm4j.vmm.event.EventSubscriber;
import dev.vmm4j.vmm.event.TimerFd;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.ConnectException;
import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;

/**
 * The stream connections of an active virtio-vsock device, multiplexed over its receive and transmit queues on the
 * device's event loop, with unix stream sockets as their host ends ({@link HostSockets}; virtio 1.2, 5.10.6).
 *
 * <h2>Nothing grows without the peer's credit</h2>
 * Bytes from the guest go straight to the host socket; only what it has no room for is kept, in a ring per connection
 * of exactly the credit granted to the guest ({@link VsockDevice#BUFFER_SIZE}), and a packet with more than the
 * credit left is a violation that resets its connection. Bytes from the host are read from the socket only into a
 * guest buffer already in hand and only up to the guest's credit, so a guest that stops reading stalls the host
 * writer in its own socket. A host that stops reading stalls the guest: its credit is not renewed. What the device owes
 * the guest besides data (responses, credit updates, shutdowns) is a few flags per connection, and resets for packets
 * of no connection wait in a ring: when {@value VsockConnections#RESETS_FOR_GUEST_PACKETS} wait, the transmit queue
 * waits too (the guest stalls itself) until the guest takes them; resets and the connections' own packets take turns.
 *
 * <h2>Nothing waits forever</h2>
 * A timer ticks while something waits with a limit: a host process's {@code CONNECT} line (5 s), the guest's answer
 * to a host connection (2 s, or the Java caller's timeout) and to the device's close (2 s), and a host socket that
 * leaves the guest's last bytes unread (10 s without progress); each then ends its connection.
 *
 * <h2>The guest is hostile</h2>
 * A packet is checked against its chain (the header and the claimed length inside the device-readable buffers, at most
 * 64 KiB), its CIDs (from the guest, to the host: forged ones are dropped, since answering them would only help the
 * forgery), its type (stream) and its op against the connection's state; what fails costs the connection, if there
 * is one, a reset, and never the device. The guest's credit figures only limit what the device sends it.
 *
 * <p><b>Thread safety:</b> confined to the event loop's thread, except {@link #close()}, which the device calls after
 * taking the muxer off the loop.
 */
final class VsockMuxer implements EventSubscriber {
    private static final System.Logger LOG = System.getLogger(VsockMuxer.class.getName());

    static final int RX_QUEUE = 0;
    static final int TX_QUEUE = 1;
    static final int EVENT_QUEUE = 2;
    static final long HOST_CID = 2;
    /** The largest payload the device accepts or sends in one packet, as Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE. */
    static final int MAX_PAYLOAD = 64 * 1024;

    private static final int HOST_REQUESTS = 4;
    private static final int TIMER = 5;
    private static final Duration TICK = Duration.ofMillis(250);

    /**
     * A Java program's connection to a guest port, waiting for the loop: the device's end of a socket pair, completed
     * with the connection's host port when the guest accepts, given up at {@code deadline} (System.nanoTime).
     */
    record HostConnectRequest(int fd, int guestPort, CompletableFuture<Integer> hostPort, long deadline) {}

    private final String name;
    private final long guestCid;
    private final SplitQueue rxQueue;
    private final SplitQueue txQueue;
    private final EventFd rxNotification;
    private final EventFd txNotification;
    private final EventFd eventNotification;
    private final VirtioInterrupt interrupt;
    private final VsockCounters counters;
    private final UnixSocketBridge bridge;
    private final VsockHost host;
    private final Queue<HostConnectRequest> hostRequests;
    private final EventFd hostRequestsReady;
    private final int bufferSize;
    private final int maxConnections;

    private final DescriptorChain rxChain;
    private final DescriptorChain txChain;
    private final VsockHeader in = new VsockHeader();
    private final VsockHeader out = new VsockHeader();
    private final MemorySegment header = MemorySegment.ofArray(new byte[VsockHeader.BYTES]);
    private final Arena arena = Arena.ofShared();
    private final MemorySegment staging = arena.allocate(MAX_PAYLOAD);
    private final TimerFd timer = TimerFd.create();

    private VsockConnections connections;
    private HostSockets hostSockets;
    private boolean timerArmed;
    private boolean broken;
    /** The transmit queue is left alone until the waiting resets have room again. */
    private boolean txWaitsForResets;
    /** Turns between resets for packets of no connection and the connections' own packets, so neither starves. */
    private boolean resetsTurn;

    private int rxUsed;
    private int txUsed;

    VsockMuxer(
            String name,
            long guestCid,
            SplitQueue rxQueue,
            SplitQueue txQueue,
            EventFd rxNotification,
            EventFd txNotification,
            EventFd eventNotification,
            VirtioInterrupt interrupt,
            VsockCounters counters,
            UnixSocketBridge bridge,
            VsockHost host,
            Queue<HostConnectRequest> hostRequests,
            EventFd hostRequestsReady,
            int bufferSize,
            int maxConnections) {
        this.name = name;
        this.guestCid = guestCid;
        this.rxQueue = rxQueue;
        this.txQueue = txQueue;
        this.rxNotification = rxNotification;
        this.txNotification = txNotification;
        this.eventNotification = eventNotification;
        this.interrupt = interrupt;
        this.counters = counters;
        this.bridge = bridge;
        this.host = host;
        this.hostRequests = hostRequests;
        this.hostRequestsReady = hostRequestsReady;
        this.bufferSize = bufferSize;
        this.maxConnections = maxConnections;
        this.rxChain = rxQueue.newChain();
        this.txChain = txQueue.newChain();
    }

    @Override
    public void init(EventOps ops) {
        ops.add(rxNotification.fd(), EventSet.IN, RX_QUEUE);
        ops.add(txNotification.fd(), EventSet.IN, TX_QUEUE);
        ops.add(eventNotification.fd(), EventSet.IN, EVENT_QUEUE);
        ops.add(hostRequestsReady.fd(), EventSet.IN, HOST_REQUESTS);
        ops.add(timer.fd(), EventSet.IN, TIMER);
        connections = new VsockConnections(ops, counters, maxConnections, bufferSize, this::armTimer);
        hostSockets = new HostSockets(name, ops, connections, counters, bridge, hostRequests, staging, this::armTimer);
    }

    @Override
    public void process(Event event, EventOps ops) {
        switch (event.data()) {
            case RX_QUEUE -> rxNotification.read();
            case TX_QUEUE -> {
                txNotification.read();
                drainTx();
            }
            case EVENT_QUEUE -> eventNotification.read(); // its buffers are kept for events vmm4j never sends
            case HostSockets.LISTENER -> hostSockets.accept();
            case HOST_REQUESTS -> {
                hostRequestsReady.read();
                hostSockets.takeRequests();
            }
            case TIMER -> {
                timer.read();
                tick();
            }
            default -> {
                VsockConnection connection = connections.byId(event.data());
                if (connection != null) {
                    hostSockets.socketEvent(connection, event);
                }
            }
        }
        fillRx();
        // Packets wait in the transmit queue while the resets they would cost have no room: send those, then go on.
        while (txWaitsForResets && connections.resetsWaiting() < VsockConnections.RESETS_FOR_GUEST_PACKETS && !broken) {
            txWaitsForResets = false;
            drainTx();
            fillRx();
        }
        signalUsed();
    }

    // ---- the guest's packets ----

    /** Takes every packet the guest has sent. */
    private void drainTx() {
        if (broken) {
            return;
        }
        try {
            do {
                txQueue.disableNotification();
                while (true) {
                    if (connections.resetsWaiting() >= VsockConnections.RESETS_FOR_GUEST_PACKETS) {
                        txWaitsForResets = true; // a packet may cost a reset, and none more fits
                        return;
                    }
                    if (!txQueue.popChain(txChain)) {
                        break;
                    }
                    takePacket();
                    txQueue.addUsed(txChain.head(), 0);
                    txUsed++;
                }
            } while (txQueue.enableNotification());
        } catch (QueueException e) {
            queueBroke(e);
        }
    }

    private void takePacket() {
        if (!txChain.isValid() || txChain.writableBytes() != 0 || txChain.readableBytes() < VsockHeader.BYTES) {
            counters.malformedChains++;
            return;
        }
        try {
            txChain.readReadable(0, header);
            in.read(header);
            long length = Integer.toUnsignedLong(in.len);
            if (length > MAX_PAYLOAD || length > txChain.readableBytes() - VsockHeader.BYTES) {
                refuse("a length past its buffer or over 64 KiB");
                return;
            }
            if (in.srcCid != guestCid || in.dstCid != HOST_CID) {
                counters.badPackets++;
                LOG.log(System.Logger.Level.DEBUG, () -> name + ": dropped a packet with forged CIDs: " + in);
                return;
            }
            if (in.type != VsockHeader.TYPE_STREAM) {
                refuse("a socket type other than stream");
                return;
            }
            VsockConnection connection = connections.byPorts(in.dstPort, in.srcPort);
            if (connection == null) {
                if (in.op == VsockHeader.OP_REQUEST) {
                    guestConnects();
                } else if (in.op != VsockHeader.OP_RST) {
                    // Not necessarily hostile: packets the guest sent before it heard of a reset arrive after it.
                    connections.owesReset(in.dstPort, in.srcPort);
                }
                return;
            }
            connectionPacket(connection, (int) length);
        } catch (GuestMemoryException e) {
            counters.malformedChains++; // a validated chain lies in guest memory: only a vanished region gets here
        }
    }

    /** Counts a packet the device cannot take and resets its connection, or answers it with a reset if it has none. */
    private void refuse(String why) {
        counters.badPackets++;
        LOG.log(System.Logger.Level.DEBUG, () -> name + ": refused a packet with " + why + ": " + in);
        VsockConnection connection = connections.byPorts(in.dstPort, in.srcPort);
        if (connection != null) {
            connections.reset(connection);
        } else if (in.op != VsockHeader.OP_RST) {
            connections.owesReset(in.dstPort, in.srcPort);
        }
    }

    private void connectionPacket(VsockConnection connection, int length) throws GuestMemoryException {
        boolean hadCredit = connection.peerCredit() > 0;
        connection.peerBufAlloc = in.bufAlloc;
        connection.peerFwdCnt = in.fwdCnt;
        switch (in.op) {
            case VsockHeader.OP_RESPONSE -> {
                if (connection.state != VsockConnection.State.CONNECTING) {
                    refuseInState(connection);
                    return;
                }
                if (!hostSockets.established(connection)) {
                    return;
                }
            }
            case VsockHeader.OP_RST -> guestReset(connection);
            case VsockHeader.OP_SHUTDOWN -> {
                if (connection.state != VsockConnection.State.ESTABLISHED) {
                    refuseInState(connection);
                    return;
                }
                guestShutdown(connection, in.flags);
            }
            case VsockHeader.OP_RW -> {
                if (connection.state != VsockConnection.State.ESTABLISHED || connection.guestSendDone) {
                    refuseInState(connection);
                    return;
                }
                if (length > connection.freeSpace()) {
                    counters.creditViolations++;
                    LOG.log(System.Logger.Level.DEBUG, () -> name + ": " + connection + " sent past its credit: " + in);
                    connections.reset(connection);
                    return;
                }
                if (length > 0) {
                    txChain.readReadable(VsockHeader.BYTES, staging.asSlice(0, length));
                    hostSockets.forward(connection, length);
                }
            }
            case VsockHeader.OP_CREDIT_UPDATE -> {
                // The credit was taken above.
            }
            case VsockHeader.OP_CREDIT_REQUEST -> connections.owes(connection, VsockConnection.OWES_CREDIT_UPDATE);
            default -> refuseInState(connection); // a second REQUEST, or an unknown op
        }
        if (!hadCredit && connection.peerCredit() > 0 && connections.isLive(connection) && connection.canReadHost()) {
            if (connection.hostHungUp) {
                connections.queueReadable(connection); // no longer watched: what is left is read now
            } else {
                hostSockets.watch(connection);
            }
        }
    }

    private void refuseInState(VsockConnection connection) {
        counters.badPackets++;
        LOG.log(System.Logger.Level.DEBUG, () -> name + ": " + connection + " cannot take " + in);
        connections.reset(connection);
    }

    /** A REQUEST for a connection the device does not have: to a Java listener, or to the unix socket of the port. */
    private void guestConnects() {
        int fd;
        if (connections.isFull()) {
            fd = -1;
        } else if (host != null && host.hasListener(in.dstPort)) {
            fd = host.acceptGuestConnection(in.dstPort, in.srcPort);
        } else if (bridge != null) {
            fd = bridge.connectToHostPort(in.dstPort);
        } else {
            fd = -1;
        }
        if (fd < 0) {
            counters.connectionsRefused++;
            connections.owesReset(in.dstPort, in.srcPort);
            return;
        }
        VsockConnection connection =
                connections.add(VsockConnection.Origin.GUEST, fd, VsockConnection.State.ESTABLISHED);
        connections.bindPorts(connection, in.dstPort, in.srcPort);
        connection.guestKnows = true;
        connection.peerBufAlloc = in.bufAlloc;
        connection.peerFwdCnt = in.fwdCnt;
        counters.connectionsOpened++;
        connections.owes(connection, VsockConnection.OWES_RESPONSE);
        hostSockets.watch(connection);
    }

    private void guestReset(VsockConnection connection) {
        if (connection.state == VsockConnection.State.CONNECTING) {
            counters.connectionsRefused++;
            if (connection.established != null) {
                connection.established.completeExceptionally(new ConnectException(
                        "guest port " + Integer.toUnsignedString(connection.guestPort) + " refused the connection"));
            }
        }
        connection.guestSendDone = true;
        connection.guestReceiveDone = true;
        leaveGuest(connection);
    }

    private void guestShutdown(VsockConnection connection, int flags) {
        if ((flags & VsockHeader.SHUTDOWN_RCV) != 0) {
            connection.guestReceiveDone = true;
        }
        if ((flags & VsockHeader.SHUTDOWN_SEND) != 0) {
            connection.guestSendDone = true;
        }
        if (connection.guestReceiveDone && connection.guestSendDone) {
            connections.owesReset(connection.hostPort, connection.guestPort); // the guest closed: a reset acknowledges
            leaveGuest(connection);
            return;
        }
        hostSockets.shutWriteIfDone(connection);
        hostSockets.watch(connection);
    }

    /**
     * The guest is done with the connection: forget it on the guest's side (its ports may be used again at once) and
     * close the host end once the guest's last bytes have reached it.
     */
    private void leaveGuest(VsockConnection connection) {
        connections.unbindPorts(connection);
        connection.owed = 0;
        if (connection.pendingSize() == 0 || connection.hostHungUp) {
            connections.remove(connection);
            return;
        }
        connection.state = VsockConnection.State.DRAINING;
        connections.setDeadline(connection, System.nanoTime() + HostSockets.DRAIN_NANOS);
        hostSockets.watch(connection);
    }

    // ---- packets to the guest ----

    /** Puts what the device owes the guest into its receive buffers: resets, control packets and data, in turns. */
    private void fillRx() {
        if (broken) {
            return;
        }
        try {
            rxQueue.disableNotification();
            while (connections.connectionsOwe() || connections.resetsWaiting() > 0) {
                if (!rxQueue.popChain(rxChain)) {
                    if (rxQueue.enableNotification()) {
                        rxQueue.disableNotification();
                        continue; // buffers arrived while notifications were off
                    }
                    return;
                }
                if (!rxChain.isValid()
                        || rxChain.readableCount() != 0
                        || rxChain.writableBytes() <= VsockHeader.BYTES) {
                    counters.malformedChains++; // too small for a header and a byte: of no use to any packet
                    rxQueue.addUsed(rxChain.head(), 0);
                    rxUsed++;
                    continue;
                }
                long written = nextPacket();
                if (written < 0) {
                    rxQueue.undoPop();
                    break;
                }
                rxQueue.addUsed(rxChain.head(), written);
                rxUsed++;
            }
            rxQueue.enableNotification();
        } catch (QueueException e) {
            queueBroke(e);
        } catch (GuestMemoryException e) {
            queueBroke(new QueueException("a receive buffer vanished from guest memory: " + e.getMessage()));
        }
    }

    /**
     * Writes the next packet owed into {@link #rxChain}.
     *
     * @return its bytes, or -1 if nothing was owed after all
     */
    private long nextPacket() throws GuestMemoryException {
        if (connections.resetsWaiting() > 0 && (resetsTurn || !connections.connectionsOwe())) {
            resetsTurn = false;
            return resetPacket();
        }
        resetsTurn = true;
        VsockConnection connection;
        while ((connection = connections.nextOwing()) != null) {
            if (connection.owed != 0) {
                return controlPacket(connection);
            }
        }
        while ((connection = connections.nextReadable()) != null) {
            if (!connection.canReadHost()) {
                continue;
            }
            long written = dataPacket(connection);
            if (connections.isLive(connection)) {
                hostSockets.watch(connection);
            }
            if (written >= 0) {
                return written;
            }
        }
        // Reading may have failed and reset a connection: its reset takes this buffer.
        return connections.resetsWaiting() > 0 ? resetPacket() : -1;
    }

    private long resetPacket() throws GuestMemoryException {
        long ports = connections.nextReset();
        out.set(HOST_CID, (int) (ports >>> 32), guestCid, (int) ports, VsockHeader.OP_RST, 0);
        counters.resetsSent++;
        return writeHeader();
    }

    private long controlPacket(VsockConnection connection) throws GuestMemoryException {
        int op;
        int flags = 0;
        if ((connection.owed & VsockConnection.OWES_REQUEST) != 0) {
            connection.owed &= ~VsockConnection.OWES_REQUEST;
            op = VsockHeader.OP_REQUEST;
            connection.guestKnows = true;
        } else if ((connection.owed & VsockConnection.OWES_RESPONSE) != 0) {
            connection.owed &= ~VsockConnection.OWES_RESPONSE;
            op = VsockHeader.OP_RESPONSE;
        } else if ((connection.owed & VsockConnection.OWES_SHUTDOWN) != 0) {
            connection.owed &= ~VsockConnection.OWES_SHUTDOWN;
            op = VsockHeader.OP_SHUTDOWN;
            flags = connection.shutdownFlags;
        } else {
            connection.owed &= ~VsockConnection.OWES_CREDIT_UPDATE;
            op = VsockHeader.OP_CREDIT_UPDATE;
        }
        out.set(HOST_CID, connection.hostPort, guestCid, connection.guestPort, op, flags);
        long written = writeHeader(connection);
        if (connection.owed != 0) {
            connections.owes(connection, 0); // back in line for the rest
        }
        return written;
    }

    /**
     * Reads from a host socket into the guest's buffer, up to the guest's credit.
     *
     * @return the bytes, or -1 for none
     */
    private long dataPacket(VsockConnection connection) throws GuestMemoryException {
        int credit = connection.peerCredit();
        if (credit == 0) {
            out.set(HOST_CID, connection.hostPort, guestCid, connection.guestPort, VsockHeader.OP_CREDIT_REQUEST, 0);
            return writeHeader(connection); // out of credit: ask, and read again when it comes
        }
        // The receive buffer has room for a byte at least (checked when it was taken).
        int wanted = (int) Math.min(Math.min(rxChain.writableBytes() - VsockHeader.BYTES, MAX_PAYLOAD), credit);
        long n = hostSockets.read(connection, wanted);
        if (n < 0) {
            return -1; // nothing now: the socket is watched again
        }
        if (!connections.isLive(connection)) {
            return -1; // the read failed and reset the connection
        }
        if (n == 0) {
            connection.hostSendDone = true;
            hostSockets.shutdownToGuest(
                    connection, VsockHeader.SHUTDOWN_SEND | (connection.hostHungUp ? VsockHeader.SHUTDOWN_RCV : 0));
            return controlPacket(connection);
        }
        rxChain.writeWritable(VsockHeader.BYTES, staging.asSlice(0, n));
        out.set(HOST_CID, connection.hostPort, guestCid, connection.guestPort, VsockHeader.OP_RW, 0);
        out.len = (int) n;
        connection.txCnt += (int) n;
        counters.bytesToGuest += n;
        connections.queueReadable(connection); // more may wait: the others get their turn first
        return writeHeader(connection) + n;
    }

    private long writeHeader(VsockConnection connection) throws GuestMemoryException {
        out.bufAlloc = connection.bufAlloc;
        out.fwdCnt = connection.fwdCnt;
        connection.lastSentFwdCnt = connection.fwdCnt;
        return writeHeader();
    }

    private long writeHeader() throws GuestMemoryException {
        out.write(header);
        rxChain.writeWritable(0, header);
        return VsockHeader.BYTES;
    }

    // ---- time limits ----

    /**
     * Ends the connections whose wait ran out, watches the listener again after a failed accept, and stops the timer
     * once nothing waits with a limit: an idle device costs no wake-ups.
     */
    private void tick() {
        long now = System.nanoTime();
        boolean waiting = false;
        for (VsockConnection connection : connections.snapshot()) {
            if (connection.deadline == 0) {
                continue;
            }
            boolean callerGaveUp = connection.established != null && connection.established.isDone();
            if (connection.state == VsockConnection.State.CONNECTING && callerGaveUp) {
                connections.reset(connection);
            } else if (now - connection.deadline >= 0) {
                LOG.log(System.Logger.Level.DEBUG, () -> name + ": " + connection + " waited too long; ended");
                if (connection.state == VsockConnection.State.CONNECTING && connection.established != null) {
                    connection.established.completeExceptionally(new ConnectException(
                            "guest port " + Integer.toUnsignedString(connection.guestPort) + " did not answer"));
                }
                connections.reset(connection);
            } else {
                waiting = true;
            }
        }
        hostSockets.resumeListener();
        if (!waiting) {
            timer.disarm();
            timerArmed = false;
        }
    }

    private void armTimer() {
        if (!timerArmed) {
            timer.arm(TICK, TICK);
            timerArmed = true;
        }
    }

    private void signalUsed() {
        if (rxUsed > 0 && rxQueue.needsNotification()) {
            interrupt.signalUsed(RX_QUEUE);
        }
        if (txUsed > 0 && txQueue.needsNotification()) {
            interrupt.signalUsed(TX_QUEUE);
        }
        rxUsed = 0;
        txUsed = 0;
    }

    private void queueBroke(QueueException e) {
        broken = true;
        interrupt.signalNeedsReset(name + ": " + e.getMessage());
    }

    /**
     * Closes every connection's host end and fails the Java program's waiting connects; the device calls it after
     * taking the muxer off the loop (on reset), so that nothing runs here meanwhile.
     */
    void close() {
        if (connections != null) {
            connections.closeAll();
        }
        timer.close();
        arena.close();
    }
}
