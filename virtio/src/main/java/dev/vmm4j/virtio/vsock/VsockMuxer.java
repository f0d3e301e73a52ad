package dev.vmm4j.virtio.vsock;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.virtio.VirtioInterrupt;
import dev.vmm4j.virtio.queue.DescriptorChain;
import dev.vmm4j.virtio.queue.QueueException;
import dev.vmm4j.virtio.queue.SplitQueue;
import dev.vmm4j.vmm.event.Event;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventOps;
import dev.vmm4j.vmm.event.EventSet;
import dev.vmm4j.vmm.event.EventSubscriber;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import dev.vmm4j.vmm.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.ConnectException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;

/**
 * The stream connections of an active virtio-vsock device, multiplexed over its receive and transmit queues on the
 * device's event loop, with unix stream sockets as their host ends (virtio 1.2, 5.10.6).
 *
 * <h2>Nothing grows without the peer's credit</h2>
 * Bytes from the guest go straight to the host socket; only what it has no room for is kept, in a ring per connection
 * of exactly the credit granted to the guest ({@link VsockDevice#BUFFER_SIZE}), and a packet with more than the
 * credit left is a violation that resets its connection. Bytes from the host are read from the socket only into a
 * guest buffer already in hand and only up to the guest's credit, so a guest that stops reading stalls the host
 * writer in its own socket. A host that stops reading stalls the guest: its credit is not renewed. What the device owes
 * the guest besides data (responses, credit updates, shutdowns) is a few flags per connection, and resets for packets
 * that belong to no connection wait in a ring: when {@value #MAX_WAITING_RESETS} wait, the transmit queue waits too
 * (the guest stalls itself) until the guest takes them; resets and the connections' own packets take turns.
 *
 * <h2>The guest is hostile</h2>
 * A packet is checked against its chain (the header and the claimed length inside the device-readable buffers, at most
 * 64 KiB), its CIDs (from the guest, to the host), its type (stream) and its op against the connection's state; what
 * fails costs the connection, if there is one, a reset, and never the device. The guest's credit figures only limit
 * what the device sends it.
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
    static final int MAX_CONNECT_LINE = 32;
    /** The largest payload the device accepts or sends in one packet, as Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE. */
    static final int MAX_PAYLOAD = 64 * 1024;

    private static final int LISTENER = 3;
    private static final int HOST_REQUESTS = 4;
    private static final int FIRST_CONNECTION_ID = 16;
    private static final int MAX_WAITING_RESETS = 256;
    /** Where the ports of connections made from the host start, as Firecracker's. */
    private static final int FIRST_EPHEMERAL_PORT = 1 << 30;

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

    private final Map<Long, VsockConnection> byKey = new HashMap<>();
    private final Map<Integer, VsockConnection> byId = new HashMap<>();
    private final ArrayDeque<VsockConnection> controlQueue = new ArrayDeque<>();
    private final ArrayDeque<VsockConnection> readableQueue = new ArrayDeque<>();
    /** Resets owed for packets of no connection, each (host port << 32 | guest port). */
    private final long[] waitingResets = new long[MAX_WAITING_RESETS + VsockDevice.MAX_CONNECTIONS];

    private int waitingResetsHead;
    private int waitingResetsCount;

    private final DescriptorChain rxChain;
    private final DescriptorChain txChain;
    private final VsockHeader in = new VsockHeader();
    private final VsockHeader out = new VsockHeader();
    private final MemorySegment header = MemorySegment.ofArray(new byte[VsockHeader.BYTES]);
    private final Arena arena = Arena.ofShared();
    private final MemorySegment staging = arena.allocate(MAX_PAYLOAD);

    private EventOps ops;
    private int nextId = FIRST_CONNECTION_ID;
    private int nextEphemeralPort = FIRST_EPHEMERAL_PORT;
    private boolean listenerPaused;
    /** The transmit queue is left alone until the waiting resets have room again. */
    private boolean txWaitsForResets;
    /** Turns between resets for packets of no connection and the connections' own packets, so neither starves. */
    private boolean resetsTurn;

    private boolean broken;
    private int rxUsed;
    private int txUsed;

    /** A Java program's connection to a guest port, waiting for the loop: the device's end of a socket pair. */
    record HostConnectRequest(int fd, int guestPort, java.util.concurrent.CompletableFuture<Integer> hostPort) {}

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

    static long key(int hostPort, int guestPort) {
        return ((long) hostPort << 32) | Integer.toUnsignedLong(guestPort);
    }

    @Override
    public void init(EventOps eventOps) {
        this.ops = eventOps;
        ops.add(rxNotification.fd(), EventSet.IN, RX_QUEUE);
        ops.add(txNotification.fd(), EventSet.IN, TX_QUEUE);
        ops.add(eventNotification.fd(), EventSet.IN, EVENT_QUEUE);
        ops.add(hostRequestsReady.fd(), EventSet.IN, HOST_REQUESTS);
        if (bridge != null) {
            ops.add(bridge.listenerFd(), EventSet.IN, LISTENER);
        }
    }

    @Override
    public void process(Event event, EventOps eventOps) {
        switch (event.data()) {
            case RX_QUEUE -> rxNotification.read();
            case TX_QUEUE -> {
                txNotification.read();
                drainTx();
            }
            case EVENT_QUEUE -> eventNotification.read(); // its buffers are kept for events vmm4j never sends
            case LISTENER -> acceptHostSockets();
            case HOST_REQUESTS -> {
                hostRequestsReady.read();
                takeHostRequests();
            }
            default -> {
                VsockConnection connection = byId.get(event.data());
                if (connection != null) {
                    socketEvent(connection, event);
                }
            }
        }
        fillRx();
        // Packets wait in the transmit queue while the resets they would cost have no room: send those, then go on.
        while (txWaitsForResets && waitingResetsCount < MAX_WAITING_RESETS && !broken) {
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
                    if (waitingResetsCount >= MAX_WAITING_RESETS) {
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
                counters.badPackets++; // forged addresses: answering them would only help the forgery
                LOG.log(System.Logger.Level.DEBUG, () -> name + ": dropped a packet with forged CIDs: " + in);
                return;
            }
            if (in.type != VsockHeader.TYPE_STREAM) {
                refuse("a socket type other than stream");
                return;
            }
            VsockConnection connection = byKey.get(key(in.dstPort, in.srcPort));
            if (connection == null) {
                if (in.op == VsockHeader.OP_REQUEST) {
                    guestConnects();
                } else if (in.op != VsockHeader.OP_RST) {
                    // Not necessarily hostile: packets the guest sent before it heard of a reset arrive after it.
                    owesReset(in.dstPort, in.srcPort);
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
        VsockConnection connection = byKey.get(key(in.dstPort, in.srcPort));
        if (connection != null) {
            reset(connection);
        } else if (in.op != VsockHeader.OP_RST) {
            owesReset(in.dstPort, in.srcPort);
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
                established(connection);
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
                    reset(connection);
                    return;
                }
                forwardToHost(connection, length);
            }
            case VsockHeader.OP_CREDIT_UPDATE -> {
                // The credit was taken above.
            }
            case VsockHeader.OP_CREDIT_REQUEST -> owes(connection, VsockConnection.OWES_CREDIT_UPDATE);
            default -> refuseInState(connection); // a second REQUEST, or an unknown op
        }
        if (!hadCredit && connection.peerCredit() > 0) {
            resumeReading(connection);
        }
    }

    private void refuseInState(VsockConnection connection) {
        counters.badPackets++;
        LOG.log(System.Logger.Level.DEBUG, () -> name + ": " + connection + " cannot take " + in);
        reset(connection);
    }

    /** A REQUEST for a connection the device does not have: to a Java listener, or to the unix socket of the port. */
    private void guestConnects() {
        int fd;
        if (byId.size() >= maxConnections) {
            fd = -LinuxHeaders.EMFILE();
        } else if (host != null && host.hasListener(in.dstPort)) {
            fd = host.acceptGuestConnection(in.dstPort, in.srcPort);
        } else if (bridge != null) {
            fd = bridge.connectToHostPort(in.dstPort);
        } else {
            fd = -LinuxHeaders.ECONNREFUSED();
        }
        if (fd < 0) {
            counters.connectionsRefused++;
            owesReset(in.dstPort, in.srcPort);
            return;
        }
        VsockConnection connection = add(VsockConnection.Origin.GUEST, fd, VsockConnection.State.ESTABLISHED);
        connection.hostPort = in.dstPort;
        connection.guestPort = in.srcPort;
        connection.peerBufAlloc = in.bufAlloc;
        connection.peerFwdCnt = in.fwdCnt;
        byKey.put(connection.key(), connection);
        counters.connectionsOpened++;
        owes(connection, VsockConnection.OWES_RESPONSE);
        watch(connection);
    }

    private void established(VsockConnection connection) {
        connection.state = VsockConnection.State.ESTABLISHED;
        counters.connectionsOpened++;
        switch (connection.origin) {
            case HOST_SOCKET -> {
                byte[] ok = ("OK " + Integer.toUnsignedString(connection.hostPort) + "\n").getBytes();
                MemorySegment.copy(ok, 0, staging, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, ok.length);
                // A new socket's buffer takes a line this short at once; if not, the host end is in no state to talk.
                if (Libc.send(connection.fd, staging, 0, ok.length) != ok.length) {
                    reset(connection);
                    return;
                }
            }
            case HOST_API -> {
                if (!connection.established.complete(connection.hostPort)) {
                    reset(connection); // the caller stopped waiting
                    return;
                }
            }
            case GUEST -> throw new IllegalStateException("a guest connection is established from the start");
        }
        watch(connection);
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
            owesReset(connection.hostPort, connection.guestPort); // the guest closed: a reset acknowledges it
            leaveGuest(connection);
            return;
        }
        shutHostWriteIfDone(connection);
        watch(connection);
    }

    /**
     * The guest is done with the connection: forget it on the guest's side (its ports may be used again at once) and
     * close the host end once the guest's last bytes have reached it.
     */
    private void leaveGuest(VsockConnection connection) {
        byKey.remove(connection.key(), connection);
        connection.owed = 0;
        if (connection.pendingSize() == 0 || connection.hostHungUp) {
            remove(connection);
            return;
        }
        connection.state = VsockConnection.State.DRAINING;
        watch(connection);
    }

    private void forwardToHost(VsockConnection connection, int length) throws GuestMemoryException {
        if (length == 0) {
            return;
        }
        connection.rxCnt += length;
        MemorySegment payload = staging.asSlice(0, length);
        txChain.readReadable(VsockHeader.BYTES, payload);
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
            owes(connection, VsockConnection.OWES_CREDIT_UPDATE);
        }
    }

    // ---- the host's sockets ----

    private void acceptHostSockets() {
        while (true) {
            int fd = Libc.accept(bridge.listenerFd());
            if (fd == -LinuxHeaders.EAGAIN() || fd == -LinuxHeaders.EINTR() || fd == -LinuxHeaders.ECONNABORTED()) {
                if (fd == -LinuxHeaders.EAGAIN()) {
                    return;
                }
                continue;
            }
            if (fd < 0) {
                // Out of fds: the listener would stay readable and spin the loop; wait for a connection to end.
                LOG.log(System.Logger.Level.WARNING, name + ": cannot accept on " + bridge + ": errno " + -fd);
                pauseListener();
                return;
            }
            if (byId.size() >= maxConnections) {
                counters.connectionsRefused++;
                Libc.close(fd);
                continue;
            }
            watch(add(VsockConnection.Origin.HOST_SOCKET, fd, VsockConnection.State.AWAITING_LINE));
        }
    }

    private void pauseListener() {
        if (!listenerPaused) {
            listenerPaused = true;
            ops.remove(bridge.listenerFd());
        }
    }

    private void takeHostRequests() {
        HostConnectRequest request;
        while ((request = hostRequests.poll()) != null) {
            if (request.hostPort().isDone() || byId.size() >= maxConnections) {
                request.hostPort()
                        .completeExceptionally(new ConnectException(
                                "the vsock device has " + maxConnections + " connections, its limit"));
                Libc.close(request.fd());
                continue;
            }
            VsockConnection connection =
                    add(VsockConnection.Origin.HOST_API, request.fd(), VsockConnection.State.CONNECTING);
            connection.established = request.hostPort();
            connectToGuest(connection, request.guestPort());
        }
    }

    private void socketEvent(VsockConnection connection, Event event) {
        if (event.isErrorOrHangUp()) {
            connection.hostHungUp = true; // epoll keeps reporting it: stop watching, or the loop would spin
        }
        switch (connection.state) {
            case AWAITING_LINE -> readConnectLine(connection);
            case CONNECTING -> {
                if (connection.hostHungUp) {
                    reset(connection); // the host gave up before the guest answered
                    return;
                }
            }
            case ESTABLISHED, DRAINING -> {
                if (connection.pendingSize() > 0 && (event.isWritable() || connection.hostHungUp)) {
                    flushToHost(connection);
                    if (!byId.containsKey(connection.id)) {
                        return;
                    }
                }
                if ((event.isReadable() || connection.hostHungUp) && canReadHost(connection)) {
                    queueReadable(connection);
                }
            }
        }
        if (byId.containsKey(connection.id)) {
            watch(connection);
        }
    }

    /** Reads the host's {@code CONNECT <port>} line a byte at a time, so that no byte of the stream after it is taken. */
    private void readConnectLine(VsockConnection connection) {
        while (true) {
            long n = Libc.read(connection.fd, staging, 0, 1);
            if (n == -LinuxHeaders.EAGAIN()) {
                if (connection.hostHungUp) {
                    remove(connection);
                }
                return;
            }
            if (n <= 0) {
                remove(connection); // the host went away before it said where to
                return;
            }
            byte b = staging.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0);
            if (b == '\n') {
                long port = UnixSocketBridge.parseConnectLine(connection.line, connection.lineLength);
                if (port < 0) {
                    counters.connectionsRefused++;
                    LOG.log(
                            System.Logger.Level.DEBUG,
                            () -> name + ": refused a host connection that did not start with CONNECT <port>");
                    remove(connection);
                    return;
                }
                connection.state = VsockConnection.State.CONNECTING;
                connectToGuest(connection, (int) port);
                return;
            }
            if (connection.lineLength == connection.line.length) {
                counters.connectionsRefused++;
                remove(connection);
                return;
            }
            connection.line[connection.lineLength++] = b;
        }
    }

    /** Gives a host connection a free port of its own and sends the guest its REQUEST. */
    private void connectToGuest(VsockConnection connection, int guestPort) {
        int port;
        do {
            port = nextEphemeralPort++;
            if (nextEphemeralPort == 0) {
                nextEphemeralPort = FIRST_EPHEMERAL_PORT;
            }
        } while (byKey.containsKey(key(port, guestPort)));
        connection.hostPort = port;
        connection.guestPort = guestPort;
        byKey.put(connection.key(), connection);
        owes(connection, VsockConnection.OWES_REQUEST);
        watch(connection);
    }

    /** Writes what the guest sent and the host socket had no room for. */
    private void flushToHost(VsockConnection connection) {
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
        }
        if (connection.state == VsockConnection.State.DRAINING) {
            if (connection.pendingSize() == 0) {
                remove(connection);
            }
            return;
        }
        if (connection.guestNeedsCreditUpdate()) {
            owes(connection, VsockConnection.OWES_CREDIT_UPDATE); // also midway: the guest may be waiting for room
        }
        shutHostWriteIfDone(connection);
    }

    private void shutHostWriteIfDone(VsockConnection connection) {
        if (connection.guestSendDone && connection.pendingSize() == 0 && !connection.hostWriteShut) {
            connection.hostWriteShut = true;
            Libc.shutdown(connection.fd, LinuxHeaders.SHUT_WR());
        }
    }

    /** The host end failed or is gone while the guest still had something for it: the guest's side is reset. */
    private void hostFailed(VsockConnection connection) {
        if (connection.state == VsockConnection.State.DRAINING) {
            remove(connection);
        } else {
            reset(connection);
        }
    }

    private boolean canReadHost(VsockConnection connection) {
        return connection.state == VsockConnection.State.ESTABLISHED
                && !connection.hostSendDone
                && !connection.guestReceiveDone;
    }

    private void queueReadable(VsockConnection connection) {
        if (!connection.inReadableQueue) {
            connection.inReadableQueue = true;
            readableQueue.add(connection);
        }
    }

    /** New credit from the guest: read from the host again (a hung-up socket is no longer watched: queue it). */
    private void resumeReading(VsockConnection connection) {
        if (!byId.containsKey(connection.id) || !canReadHost(connection)) {
            return;
        }
        if (connection.hostHungUp) {
            queueReadable(connection);
        } else {
            watch(connection);
        }
    }

    /** Watches a connection's socket for what it waits for now: data it may read, room for bytes it holds. */
    private void watch(VsockConnection connection) {
        if (connection.hostHungUp) {
            if (connection.interest >= 0) {
                ops.remove(connection.fd);
                connection.interest = -1;
            }
            return;
        }
        boolean wantsInput = connection.state == VsockConnection.State.AWAITING_LINE
                || (canReadHost(connection) && !connection.inReadableQueue && connection.peerCredit() > 0);
        int wanted = (wantsInput ? EventSet.IN : 0) | (connection.pendingSize() > 0 ? EventSet.OUT : 0);
        if (connection.interest < 0) {
            ops.add(connection.fd, wanted, connection.id);
        } else if (wanted != connection.interest) {
            ops.modify(connection.fd, wanted, connection.id);
        }
        connection.interest = wanted;
    }

    // ---- packets to the guest ----

    /** Puts what the device owes the guest into its receive buffers: resets, control packets, then data in turn. */
    private void fillRx() {
        if (broken) {
            return;
        }
        try {
            rxQueue.disableNotification();
            while (owesAnything()) {
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

    private boolean owesAnything() {
        return waitingResetsCount > 0 || !controlQueue.isEmpty() || !readableQueue.isEmpty();
    }

    /** Writes the next packet owed into {@link #rxChain}. {@return its bytes, or -1 if nothing was owed after all} */
    private long nextPacket() throws GuestMemoryException {
        boolean connectionsOwe = !controlQueue.isEmpty() || !readableQueue.isEmpty();
        if (waitingResetsCount > 0 && (resetsTurn || !connectionsOwe)) {
            resetsTurn = false;
            return resetPacket();
        }
        resetsTurn = true;
        VsockConnection connection;
        while ((connection = controlQueue.poll()) != null) {
            connection.inControlQueue = false;
            if (byId.containsKey(connection.id) && connection.owed != 0) {
                return controlPacket(connection);
            }
        }
        while ((connection = readableQueue.poll()) != null) {
            connection.inReadableQueue = false;
            if (!byId.containsKey(connection.id) || !canReadHost(connection)) {
                continue;
            }
            long written = dataPacket(connection);
            if (byId.containsKey(connection.id)) {
                watch(connection);
            }
            if (written >= 0) {
                return written;
            }
        }
        // Reading may have failed and reset a connection: its reset takes this buffer.
        return waitingResetsCount > 0 ? resetPacket() : -1;
    }

    private long resetPacket() throws GuestMemoryException {
        long ports = waitingResets[waitingResetsHead];
        waitingResetsHead = (waitingResetsHead + 1) % waitingResets.length;
        waitingResetsCount--;
        out.set(HOST_CID, (int) (ports >>> 32), guestCid, (int) ports, VsockHeader.OP_RST, 0);
        counters.resetsSent++;
        return writeHeader();
    }

    private long controlPacket(VsockConnection connection) throws GuestMemoryException {
        int op;
        int flags = 0;
        int owed = connection.owed;
        if ((owed & VsockConnection.OWES_REQUEST) != 0) {
            connection.owed &= ~VsockConnection.OWES_REQUEST;
            op = VsockHeader.OP_REQUEST;
        } else if ((owed & VsockConnection.OWES_RESPONSE) != 0) {
            connection.owed &= ~VsockConnection.OWES_RESPONSE;
            op = VsockHeader.OP_RESPONSE;
        } else if ((owed & VsockConnection.OWES_SHUTDOWN) != 0) {
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
            connection.inControlQueue = true;
            controlQueue.add(connection);
        }
        return written;
    }

    /** Reads from a host socket into the guest's buffer, up to the guest's credit. {@return the bytes, or -1 for none} */
    private long dataPacket(VsockConnection connection) throws GuestMemoryException {
        int credit = connection.peerCredit();
        if (credit == 0) {
            out.set(HOST_CID, connection.hostPort, guestCid, connection.guestPort, VsockHeader.OP_CREDIT_REQUEST, 0);
            return writeHeader(connection); // out of credit: ask, and read again when it comes
        }
        // The receive buffer has room for a byte at least (checked when it was taken).
        int wanted = (int) Math.min(Math.min(rxChain.writableBytes() - VsockHeader.BYTES, MAX_PAYLOAD), credit);
        long n = Libc.read(connection.fd, staging, 0, wanted);
        if (n == -LinuxHeaders.EAGAIN()) {
            if (connection.hostHungUp) {
                n = 0; // nothing more will come
            } else {
                return -1;
            }
        }
        if (n < 0) {
            reset(connection);
            return -1;
        }
        if (n == 0) {
            connection.hostSendDone = true;
            connection.shutdownFlags |=
                    VsockHeader.SHUTDOWN_SEND | (connection.hostHungUp ? VsockHeader.SHUTDOWN_RCV : 0);
            out.set(
                    HOST_CID,
                    connection.hostPort,
                    guestCid,
                    connection.guestPort,
                    VsockHeader.OP_SHUTDOWN,
                    connection.shutdownFlags);
            return writeHeader(connection);
        }
        rxChain.writeWritable(VsockHeader.BYTES, staging.asSlice(0, n));
        out.set(HOST_CID, connection.hostPort, guestCid, connection.guestPort, VsockHeader.OP_RW, 0);
        out.len = (int) n;
        connection.txCnt += (int) n;
        counters.bytesToGuest += n;
        queueReadable(connection); // more may wait: the others get their turn first
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

    // ---- connections ----

    private VsockConnection add(VsockConnection.Origin origin, int fd, VsockConnection.State state) {
        int id;
        do {
            id = nextId++;
            if (nextId < FIRST_CONNECTION_ID) {
                nextId = FIRST_CONNECTION_ID;
            }
        } while (byId.containsKey(id));
        VsockConnection connection = new VsockConnection(id, origin, fd, bufferSize, state);
        byId.put(id, connection);
        counters.activeConnections = byId.size();
        return connection;
    }

    private void owes(VsockConnection connection, int packet) {
        connection.owed |= packet;
        if (!connection.inControlQueue) {
            connection.inControlQueue = true;
            controlQueue.add(connection);
        }
    }

    /**
     * Queues a reset for the guest. The guest's packets cannot overflow the ring (the transmit queue waits at
     * {@value #MAX_WAITING_RESETS}); the reserve above that is for connections the host ends meanwhile, and only a
     * guest that takes no packets while hundreds of them end loses resets (counted).
     */
    private void owesReset(int hostPort, int guestPort) {
        if (waitingResetsCount == waitingResets.length) {
            counters.resetsDropped++;
            return;
        }
        waitingResets[(waitingResetsHead + waitingResetsCount) % waitingResets.length] = key(hostPort, guestPort);
        waitingResetsCount++;
    }

    /** Ends a connection at once: the guest is sent a reset if it knows the connection, and the host end is closed. */
    private void reset(VsockConnection connection) {
        if (connection.state != VsockConnection.State.AWAITING_LINE
                && connection.state != VsockConnection.State.DRAINING
                && byKey.get(connection.key()) == connection) {
            owesReset(connection.hostPort, connection.guestPort);
        }
        remove(connection);
    }

    private void remove(VsockConnection connection) {
        if (byId.remove(connection.id) == null) {
            return;
        }
        byKey.remove(connection.key(), connection);
        counters.activeConnections = byId.size();
        if (connection.interest >= 0) {
            ops.remove(connection.fd);
            connection.interest = -1;
        }
        Libc.close(connection.fd);
        connection.dropPending();
        if (connection.established != null && !connection.established.isDone()) {
            connection.established.completeExceptionally(new ConnectException("the connection to guest port "
                    + Integer.toUnsignedString(connection.guestPort) + " ended before the guest answered"));
        }
        if (listenerPaused) {
            listenerPaused = false;
            ops.add(bridge.listenerFd(), EventSet.IN, LISTENER);
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
        listenerPaused = false; // off the loop: nothing to watch again
        for (VsockConnection connection : byId.values().toArray(VsockConnection[]::new)) {
            connection.interest = -1; // off the loop already
            remove(connection);
        }
        arena.close();
    }
}
