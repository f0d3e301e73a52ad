// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmm4j.virtio.DeviceStatus;
import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import dev.vmm4j.virtio.vsock.VsockTestDriver.Packet;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * A hostile guest driver against virtio-vsock, among legitimate traffic both ways: host processes connecting through
 * the unix socket with {@code CONNECT <port>}, the guest connecting to host ports where a {@link ServerSocketChannel}
 * listens at {@code <path>_<port>}, data both ways, credit granted and withheld, shutdowns and closes. The hostile
 * part: bad ops, lengths past the buffer, forged CIDs, data on connections never opened, credit lies, RST storms,
 * SHUTDOWN with odd flags, RESPONSE without REQUEST, duplicate REQUEST, wrong types, chains in the wrong direction,
 * headers split across descriptors, buffers outside guest memory, tiny receive buffers and driver resets.
 *
 * <p>Whatever happens: nothing escapes the device's loop and it never asks for a reset; it writes only the receive
 * chains' writable buffers (guards after every buffer, transmit buffers unchanged, used lengths within the chain);
 * what it puts in the guest's buffers per connection stays within the credit the guest granted; a host that stops
 * reading stalls the guest at the device's buffer, a guest that sends past it is reset and counted, and a guest that
 * stops reading stalls the host writer in its own socket; every byte either end receives is a prefix of what the other
 * end sent on that connection, and all of it arrives on connections nobody reset; and at the end no connection and no
 * file descriptor is left.
 */
class HostileVsockPropertyTest {
    private static final long CID = 3;
    private static final long HOST = 2;
    private static final int RX = 0;
    private static final int TX = 1;
    private static final int EVENT = 2;
    private static final int GUARD = 64;
    private static final byte PATTERN = (byte) 0xa5;
    private static final int HEADER = 44;
    private static final int BUFFER_SIZE = VsockDevice.BUFFER_SIZE;
    private static final int[] LISTENING = {5000, 5001};
    private static final int UNLISTENED = 5999;
    private static final int[] GUEST_LISTENING = {1000, 1001};
    private static final int MAX_RX_DESCRIPTORS = 192;
    private static final int STEPS = 40;
    private static final long MEMORY = 128L << 20;

    @Property(tries = 300)
    void hostilePacketsNeverCostTheDeviceItsBoundsOrTheStreamsTheirBytes(@ForAll long seed) throws Exception {
        SocketChannel.open(StandardProtocolFamily.UNIX).close(); // the JDK's pre-close socket, made once: not ours
        long fdsBefore = fdCount();
        Path dir = Files.createTempDirectory("vsp");
        try {
            inWorker(seed, () -> {
                new Run(seed, dir).run();
                return null;
            });
        } finally {
            deleteTree(dir);
        }
        assertEquals(fdsBefore, fdCount(), "sockets or eventfds leaked (seed " + seed + ")");
    }

    /**
     * A host process closes its socket while bytes the guest sent are still unread in it: the device's end then reads
     * ECONNRESET, and the guest must hear of it (RST) without waiting for some other connection's event.
     */
    @Example
    void aHostThatClosesWithUnreadBytesResetsTheGuestsConnectionAtOnce() throws Exception {
        Path dir = Files.createTempDirectory("vsp");
        try (VsockDevice device = VsockDevice.open(VsockConfig.of(CID).withUnixSocket(dir.resolve("v")));
                VsockTestDriver driver = new VsockTestDriver(device, 16, HEADER + 4096);
                ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(dir.resolve("v_5000")));
            driver.send(Packet.of(CID, 1025, HOST, 5000, VsockHeader.OP_REQUEST).withCredit(BUFFER_SIZE, 0));
            assertEquals(VsockHeader.OP_RESPONSE, driver.receive().getFirst().op());
            SocketChannel accepted = listener.accept();
            driver.send(Packet.of(CID, 1025, HOST, 5000, VsockHeader.OP_RW)
                    .withCredit(BUFFER_SIZE, 0)
                    .withPayload("never read".getBytes(StandardCharsets.US_ASCII)));
            assertTrue(driver.receive().isEmpty());
            accepted.close(); // with "never read" unread in it
            List<Packet> got = driver.receive();
            assertEquals(1, got.size(), "the guest must hear that the host end is gone: " + got);
            assertTrue(
                    got.getFirst().op() == VsockHeader.OP_RST
                            || (got.getFirst().op() == VsockHeader.OP_SHUTDOWN
                                    && got.getFirst().flags() == 3),
                    got.toString());
            assertEquals(0, device.statistics().activeConnections());
            assertEquals(0, driver.harness.loopErrors());
        } finally {
            deleteTree(dir);
        }
    }

    // ---- the model ----

    /** A buffer the test placed and what it held; the device may write it only if {@code mayBeWritten}. */
    private record Placed(long gpa, int length, boolean mayBeWritten, byte[] contents) {}

    /** A receive chain: its buffers in order (null for one outside memory) and whether the device can use it. */
    private record RxChain(List<Placed> buffers, int descriptors, boolean wellFormed, long writableBytes) {}

    /** A connection as the guest sees it. */
    private static final class Conn {
        final int hostPort;
        final int guestPort;
        final boolean fromGuest;
        String state; // REQUESTED, OFFERED, ESTABLISHED, CLOSED
        boolean doomed; // a hostile packet hit it: no more legitimate traffic, a reset may come
        boolean rstReceived;
        boolean guestShutSend;
        boolean guestShutRcv;
        int hostShutFlags;
        boolean creditRequested;
        // guest -> host
        final ByteArrayOutputStream sent = new ByteArrayOutputStream();
        boolean devCreditKnown;
        int devBufAlloc;
        int devFwdCnt;
        // host -> guest
        final ByteArrayOutputStream received = new ByteArrayOutputStream();
        int bufAlloc;
        int consumed;
        final List<int[]> window = new ArrayList<>(); // {fwd_cnt, buf_alloc} the device may be going by
        HostEnd host;

        Conn(int hostPort, int guestPort, boolean fromGuest, String state) {
            this.hostPort = hostPort;
            this.guestPort = guestPort;
            this.fromGuest = fromGuest;
            this.state = state;
        }

        long key() {
            return VsockConnections.key(hostPort, guestPort);
        }

        boolean usable() {
            return state.equals("ESTABLISHED") && !doomed && !rstReceived;
        }

        long viewCredit() {
            long inFlight = Integer.toUnsignedLong(sent.size() - devFwdCnt);
            return Math.max(0, Integer.toUnsignedLong(devBufAlloc) - inFlight);
        }

        @Override
        public String toString() {
            return "conn " + Integer.toUnsignedString(hostPort) + "<->" + guestPort + " " + state
                    + (doomed ? " doomed" : "") + (rstReceived ? " rst" : "") + " sent " + sent.size() + " received "
                    + received.size();
        }
    }

    /** A host process's socket. */
    private static final class HostEnd {
        final SocketChannel channel;
        final int guestPort; // for CONNECT, or -1 for one the listener accepted
        final boolean garbage; // wrote a line that is not CONNECT <port>
        final ByteArrayOutputStream written = new ByteArrayOutputStream();
        final ByteArrayOutputStream read = new ByteArrayOutputStream();
        final StringBuilder line = new StringBuilder();
        boolean lineDone;
        boolean reading = true;
        boolean closed;
        boolean eof;
        boolean shutOutput;
        Conn conn;

        HostEnd(SocketChannel channel, int guestPort, boolean garbage) {
            this.channel = channel;
            this.guestPort = guestPort;
            this.garbage = garbage;
            this.lineDone = guestPort < 0;
        }
    }

    /** One try: the device, the guest's driver and model, the host processes. */
    private static final class Run {
        final long seed;
        final SplittableRandom random;
        final Path dir;
        final Path socket;
        final List<String> log = new ArrayList<>();
        final List<Placed> placed = new ArrayList<>();
        final Map<Integer, RxChain> rxChains = new HashMap<>();
        final Map<Long, Conn> conns = new LinkedHashMap<>();
        final List<Conn> deadConns = new ArrayList<>();
        final List<HostEnd> hostEnds = new ArrayList<>();
        final Map<Integer, ServerSocketChannel> listeners = new HashMap<>();
        VsockDevice device;
        DeviceHarness harness;
        List<DriverQueue> queues;
        int rxSeen;
        int outstandingRxDescriptors;
        int nextGuestPort = 2000;
        int nextHostileGuestPort = 40_000;
        long rwReceivedTotal;
        long packetsReceived;
        long expectedViolations;

        Run(long seed, Path dir) {
            this.seed = seed;
            this.random = new SplittableRandom(seed);
            this.dir = dir;
            this.socket = dir.resolve("v");
        }

        void run() throws Exception {
            try {
                device = VsockDevice.open(VsockConfig.of(CID).withUnixSocket(socket));
                for (int port : LISTENING) {
                    ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                    listener.bind(UnixDomainSocketAddress.of(dir.resolve("v_" + port)));
                    listener.configureBlocking(false);
                    listeners.put(port, listener);
                }
                harness = DeviceHarness.create(device, MEMORY);
                activate();
                postRx(16);
                settle();
                for (int step = 0; step < STEPS; step++) {
                    for (Conn conn : conns.values()) {
                        if (conn.window.size() > 1) {
                            int[] last = conn.window.getLast();
                            conn.window.clear();
                            conn.window.add(last);
                        }
                    }
                    step(step);
                    settle();
                }
                finish();
            } catch (Throwable t) {
                List<String> tail = log.subList(Math.max(0, log.size() - 60), log.size());
                throw new AssertionError(
                        "seed " + seed + ": " + t + "\nlast steps:\n  " + String.join("\n  ", tail), t);
            } finally {
                for (HostEnd end : hostEnds) {
                    end.channel.close();
                }
                for (ServerSocketChannel listener : listeners.values()) {
                    listener.close();
                }
                if (harness != null) {
                    harness.close(); // closes the device too
                } else if (device != null) {
                    device.close();
                }
            }
        }

        void activate() {
            queues = harness.activate(harness.offeredFeatures(), 0);
            rxChains.clear();
            rxSeen = 0;
            outstandingRxDescriptors = 0;
            for (int i = 0; i < 4; i++) {
                queues.get(EVENT).addChain(Buffer.writable(harness.allocate(8), 8));
            }
            harness.notifyQueue(EVENT);
        }

        void step(int step) throws Exception {
            int action = random.nextInt(100);
            if (action < 14) {
                postRx(random.nextInt(1, 9));
            } else if (action < 24) {
                guestConnects();
            } else if (action < 32) {
                hostConnects();
            } else if (action < 38) {
                guestAnswers();
            } else if (action < 50) {
                guestSendsData();
            } else if (action < 58) {
                hostSendsData();
            } else if (action < 64) {
                hostReads(random.nextBoolean());
            } else if (action < 70) {
                guestGrantsCredit();
            } else if (action < 84) {
                hostile();
            } else if (action < 91) {
                closeSomething();
            } else if (action < 93) {
                log.add("re-activate");
                activate();
                for (Conn conn : conns.values()) {
                    conn.state = "CLOSED";
                    deadConns.add(conn);
                }
                conns.clear();
                postRx(random.nextInt(0, 16));
            } else if (action < 96) {
                hostStopsReading();
            } else {
                guestStopsReading();
            }
        }

        // ---- running the device and checking what it did ----

        void settle() throws Exception {
            harness.runUntilIdle();
            assertEquals(0, harness.loopErrors(), "the device's loop threw");
            assertEquals(0, harness.status() & DeviceStatus.DEVICE_NEEDS_RESET, "the device asked for a reset");
            collectRx();
            for (ServerSocketChannel listener : listeners.values()) {
                SocketChannel stray = listener.accept();
                if (stray != null) {
                    stray.close();
                    fail("the device connected to a host port no legitimate REQUEST asked for");
                }
            }
            for (HostEnd end : hostEnds) {
                if (!end.lineDone && !end.closed) {
                    readHost(end); // the OK line, and what follows it
                }
            }
            VsockStatistics statistics = device.statistics();
            assertEquals(rwReceivedTotal, statistics.bytesToGuest(), "bytesToGuest is what the guest received");
            assertEquals(expectedViolations, statistics.creditViolations(), "credit violations");
            long hostRead = 0;
            long guestSent = 0;
            for (HostEnd end : hostEnds) {
                hostRead += end.read.size();
            }
            for (Conn conn : allConns()) {
                guestSent += conn.sent.size();
            }
            assertTrue(hostRead <= statistics.bytesToHost(), "hosts read more than the device sent them");
            assertTrue(statistics.bytesToHost() <= guestSent, "the device sent hosts more than the guest sent");
        }

        List<Conn> allConns() {
            List<Conn> all = new ArrayList<>(deadConns);
            all.addAll(conns.values());
            return all;
        }

        void collectRx() throws Exception {
            DriverQueue rx = queues.get(RX);
            while (rxSeen != rx.usedIdx()) {
                DriverQueue.UsedElement used = rx.used(rxSeen);
                rxSeen = (rxSeen + 1) & 0xffff;
                RxChain chain = rxChains.remove(used.id());
                assertNotNull(chain, "a used receive chain the driver never made available: " + used);
                outstandingRxDescriptors -= chain.descriptors();
                assertTrue(
                        used.length() <= chain.writableBytes(),
                        "used length " + used.length() + " past the chain's " + chain.writableBytes() + " bytes");
                if (!chain.wellFormed()) {
                    assertEquals(0, used.length(), "the device wrote a chain it cannot use");
                    continue;
                }
                assertTrue(used.length() >= HEADER, "a used receive chain without a whole header: " + used);
                byte[] bytes = new byte[(int) used.length()];
                int done = 0;
                for (Placed buffer : chain.buffers()) {
                    int n = Math.min(buffer.length(), bytes.length - done);
                    if (n <= 0) {
                        break;
                    }
                    byte[] part = new byte[n];
                    harness.memory().readFully(buffer.gpa(), part);
                    System.arraycopy(part, 0, bytes, done, n);
                    done += n;
                }
                Packet packet = Packet.decode(bytes);
                assertEquals(bytes.length - HEADER, packet.len(), "len and the used length disagree: " + packet);
                guestReceives(packet);
            }
        }

        /** The guest driver's handling of one packet from the device, with the checks on it. */
        void guestReceives(Packet p) {
            assertEquals(HOST, p.srcCid(), "src_cid");
            assertEquals(CID, p.dstCid(), "dst_cid");
            assertEquals(VsockHeader.TYPE_STREAM, p.type(), "type");
            long key = VsockConnections.key(p.srcPort(), p.dstPort());
            Conn conn = conns.get(key);
            String what = VsockHeader.opName(p.op()) + " " + Integer.toUnsignedString(p.srcPort()) + "->" + p.dstPort()
                    + " len " + p.len() + " flags " + p.flags();
            log.add("    guest got " + what);
            packetsReceived++;
            if (p.op() == VsockHeader.OP_RST) {
                if (conn != null) {
                    conn.rstReceived = true;
                    conn.state = "CLOSED";
                }
                return; // resets for packets of no connection are fine
            }
            if (p.op() == VsockHeader.OP_REQUEST) {
                assertNull(conn, "a REQUEST for a connection the guest has: " + what);
                assertTrue(
                        Arrays.stream(GUEST_LISTENING).anyMatch(port -> port == p.dstPort()),
                        "a REQUEST to a guest port no host process asked for: " + what);
                assertTrue(Integer.toUnsignedLong(p.srcPort()) >= 1L << 30, "not an ephemeral port: " + what);
                conn = new Conn(p.srcPort(), p.dstPort(), false, "OFFERED");
                conn.bufAlloc = pickBufAlloc();
                conns.put(key, conn);
            }
            assertNotNull(conn, "a packet for a connection the guest never had: " + what);
            assertTrue(!conn.rstReceived, "a packet after the device reset the connection: " + what);
            assertEquals(BUFFER_SIZE, p.bufAlloc(), "the device's buf_alloc: " + what);
            long fwd = Integer.toUnsignedLong(p.fwdCnt());
            assertTrue(
                    fwd <= conn.sent.size(),
                    "fwd_cnt " + fwd + " past the " + conn.sent.size() + " bytes the guest sent");
            assertTrue(
                    !conn.devCreditKnown || fwd >= Integer.toUnsignedLong(conn.devFwdCnt),
                    "fwd_cnt went back: " + what);
            conn.devCreditKnown = true;
            conn.devBufAlloc = p.bufAlloc();
            conn.devFwdCnt = p.fwdCnt();
            switch (p.op()) {
                case VsockHeader.OP_REQUEST -> {}
                case VsockHeader.OP_RESPONSE -> {
                    if (conn.state.equals("REQUESTED")) {
                        conn.state = "ESTABLISHED";
                    } else {
                        assertTrue(conn.doomed || conn.state.equals("CLOSED"), "a RESPONSE to " + conn);
                    }
                }
                case VsockHeader.OP_SHUTDOWN -> {
                    assertTrue(conn.state.equals("ESTABLISHED") || conn.state.equals("CLOSED"), what + " on " + conn);
                    conn.hostShutFlags |= p.flags();
                }
                case VsockHeader.OP_RW -> {
                    assertTrue(
                            conn.state.equals("ESTABLISHED") || conn.state.equals("CLOSED"),
                            "data before the connection was established: " + conn);
                    assertEquals(
                            0, conn.hostShutFlags & VsockHeader.SHUTDOWN_SEND, "data after SHUTDOWN(SEND): " + conn);
                    conn.received.writeBytes(p.payload());
                    rwReceivedTotal += p.payload().length;
                    int total = conn.received.size();
                    boolean allowed = false;
                    for (int[] credit : conn.window) {
                        if (Integer.toUnsignedLong(total - credit[0]) <= Integer.toUnsignedLong(credit[1])) {
                            allowed = true;
                            break;
                        }
                    }
                    assertTrue(
                            allowed,
                            "the device sent past the guest's credit: " + total + " received, credit "
                                    + conn.window.stream().map(Arrays::toString).toList() + " on " + conn);
                    if (conn.host != null) {
                        assertPrefix(conn.received.toByteArray(), conn.host.written.toByteArray(), "host -> guest");
                    }
                }
                case VsockHeader.OP_CREDIT_UPDATE -> {}
                case VsockHeader.OP_CREDIT_REQUEST -> conn.creditRequested = true;
                default -> fail("an op the device has no business sending: " + what);
            }
        }

        // ---- the guest's driver ----

        int pickBufAlloc() {
            return switch (random.nextInt(6)) {
                case 0 -> random.nextInt(1, 200);
                case 1 -> 4096;
                case 2 -> 64 * 1024;
                default -> BUFFER_SIZE;
            };
        }

        void postRx(int count) throws Exception {
            DriverQueue rx = queues.get(RX);
            int posted = 0;
            for (int i = 0; i < count && outstandingRxDescriptors + 3 <= MAX_RX_DESCRIPTORS; i++) {
                List<Placed> buffers = new ArrayList<>();
                List<Buffer> descriptors = new ArrayList<>();
                boolean wellFormed = true;
                long writable = 0;
                int kind = random.nextInt(20);
                int[] sizes = switch (kind) {
                    case 0 -> new int[] {random.nextInt(1, HEADER + 1)}; // too small for a header and a byte
                    case 1, 2 -> new int[] {random.nextInt(1, 2000), random.nextInt(1, 3000)};
                    case 3 -> new int[] {random.nextInt(1, 60), random.nextInt(1, 60), random.nextInt(1, 4000)};
                    case 4 -> new int[] {HEADER + 65_536};
                    default -> new int[] {HEADER + random.nextInt(1, 4097)};
                };
                for (int size : sizes) {
                    if (random.nextInt(40) == 0) {
                        descriptors.add(Buffer.writable(harness.memory().totalSize() - 8, size + 16)); // outside
                        buffers.add(null);
                        wellFormed = false;
                        continue;
                    }
                    boolean isWritable = random.nextInt(30) != 0;
                    long gpa = harness.allocate(size + GUARD);
                    byte[] bytes = filled(size + GUARD);
                    harness.memory().writeFully(gpa, bytes);
                    Placed buffer = new Placed(gpa, size, isWritable, Arrays.copyOf(bytes, size));
                    placed.add(buffer);
                    descriptors.add(isWritable ? Buffer.writable(gpa, size) : Buffer.readable(gpa, size));
                    if (isWritable) {
                        buffers.add(buffer);
                        writable += size;
                    } else {
                        wellFormed = false;
                    }
                }
                wellFormed &= writable > HEADER;
                int head = rx.addChain(descriptors.toArray(Buffer[]::new));
                rxChains.put(
                        head,
                        new RxChain(
                                wellFormed ? buffers : List.of(),
                                descriptors.size(),
                                wellFormed,
                                wellFormed ? writable : 0));
                outstandingRxDescriptors += descriptors.size();
                posted++;
            }
            if (posted > 0) {
                log.add("post " + posted + " rx chains");
                harness.notifyQueue(RX);
            }
        }

        /** Tops the receive queue up to {@code count} usable chains of a page. */
        void topUpRx(int count) throws Exception {
            DriverQueue rx = queues.get(RX);
            int usable =
                    (int) rxChains.values().stream().filter(RxChain::wellFormed).count();
            for (; usable < count && outstandingRxDescriptors < MAX_RX_DESCRIPTORS; usable++) {
                long gpa = harness.allocate(HEADER + 4096 + GUARD);
                byte[] bytes = filled(HEADER + 4096 + GUARD);
                harness.memory().writeFully(gpa, bytes);
                Placed buffer = new Placed(gpa, HEADER + 4096, true, Arrays.copyOf(bytes, HEADER + 4096));
                placed.add(buffer);
                int head = rx.addChain(Buffer.writable(gpa, HEADER + 4096));
                rxChains.put(head, new RxChain(List.of(buffer), 1, true, HEADER + 4096));
                outstandingRxDescriptors++;
            }
            harness.notifyQueue(RX);
        }

        /** Sends one packet's bytes as a transmit chain: one buffer, or pieces (the header split among them). */
        void sendBytes(byte[] bytes, boolean junkAfter) throws Exception {
            List<byte[]> pieces = new ArrayList<>();
            int layout = random.nextInt(10);
            if (layout < 6 || bytes.length < 2) {
                pieces.add(bytes);
            } else if (layout < 8) {
                int cut = random.nextInt(1, Math.min(HEADER, bytes.length - 1) + 1);
                pieces.add(Arrays.copyOf(bytes, cut));
                if (cut < bytes.length) {
                    pieces.add(Arrays.copyOfRange(bytes, cut, bytes.length));
                }
            } else {
                int at = 0;
                while (at < bytes.length) {
                    int n = Math.min(bytes.length - at, random.nextInt(1, Math.max(2, bytes.length / 3 + 1)));
                    pieces.add(Arrays.copyOfRange(bytes, at, at + n));
                    at += n;
                }
            }
            if (junkAfter) {
                byte[] junk = new byte[random.nextInt(1, 100)];
                random.nextBytes(junk);
                pieces.add(junk);
            }
            List<Buffer> descriptors = new ArrayList<>();
            for (byte[] piece : pieces) {
                descriptors.add(Buffer.readable(place(piece), piece.length));
            }
            queues.get(TX).addChain(descriptors.toArray(Buffer[]::new));
            harness.notifyQueue(TX);
        }

        long place(byte[] piece) throws Exception {
            long gpa = harness.allocate(piece.length + GUARD);
            byte[] bytes = filled(piece.length + GUARD);
            System.arraycopy(piece, 0, bytes, 0, piece.length);
            harness.memory().writeFully(gpa, bytes);
            placed.add(new Placed(gpa, piece.length, false, piece.clone()));
            return gpa;
        }

        Packet packet(Conn conn, int op) {
            return Packet.of(CID, conn.guestPort, HOST, conn.hostPort, op).withCredit(conn.bufAlloc, conn.consumed);
        }

        /** Sends a packet of the guest's on {@code conn}: its credit figures are what the device goes by from here. */
        void guestSends(Conn conn, Packet packet) throws Exception {
            sendBytes(packet.encode(), random.nextInt(10) == 0);
            conn.window.add(new int[] {packet.fwdCnt(), packet.bufAlloc()});
        }

        <T> T pick(List<T> items) {
            return items.isEmpty() ? null : items.get(random.nextInt(items.size()));
        }

        List<Conn> connsWhere(java.util.function.Predicate<Conn> test) {
            return conns.values().stream().filter(test).toList();
        }

        void guestConnects() throws Exception {
            int port = random.nextInt(6) == 0 ? UNLISTENED : LISTENING[random.nextInt(LISTENING.length)];
            Conn conn = new Conn(port, nextGuestPort++, true, "REQUESTED");
            conn.bufAlloc = pickBufAlloc();
            conns.put(conn.key(), conn);
            log.add("guest REQUEST " + conn.guestPort + "->" + port + " buf_alloc " + conn.bufAlloc);
            guestSends(conn, packet(conn, VsockHeader.OP_REQUEST));
            harness.runUntilIdle();
            ServerSocketChannel listener = listeners.get(port);
            if (listener != null) {
                SocketChannel accepted = listener.accept();
                for (int round = 0; accepted == null && round < 50; round++) {
                    // The device holds the guest's packets while the resets it owes wait for receive buffers: give it
                    // some (not through settle(), which would take this connection for a stray).
                    topUpRx(48);
                    harness.runUntilIdle();
                    collectRx();
                    accepted = listener.accept();
                }
                assertNotNull(accepted, "a guest REQUEST to a listening host port was not connected");
                accepted.configureBlocking(false);
                HostEnd end = new HostEnd(accepted, -1, false);
                end.conn = conn;
                conn.host = end;
                hostEnds.add(end);
            }
        }

        void hostConnects() throws Exception {
            int guestPort = GUEST_LISTENING[random.nextInt(GUEST_LISTENING.length)];
            String line;
            boolean garbage = random.nextInt(6) == 0;
            if (garbage) {
                line = switch (random.nextInt(4)) {
                    case 0 -> "HELLO " + guestPort + "\n";
                    case 1 -> "CONNECT -" + guestPort + "\n";
                    case 2 -> "CONNECT 99999999999\n";
                    default -> "CONNECT " + "1".repeat(40) + "\n";
                };
            } else {
                line = "CONNECT " + guestPort + "\n";
            }
            SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(UnixDomainSocketAddress.of(socket));
            channel.configureBlocking(false);
            HostEnd end = new HostEnd(channel, garbage ? -2 : guestPort, garbage);
            end.lineDone = false;
            hostEnds.add(end);
            log.add("host CONNECT line " + line.strip());
            byte[] bytes = line.getBytes(StandardCharsets.US_ASCII);
            try {
                if (random.nextBoolean()) {
                    int cut = random.nextInt(1, bytes.length);
                    channel.write(ByteBuffer.wrap(bytes, 0, cut));
                    harness.runUntilIdle();
                    channel.write(ByteBuffer.wrap(bytes, cut, bytes.length - cut));
                } else {
                    channel.write(ByteBuffer.wrap(bytes));
                }
            } catch (IOException e) {
                assertTrue(garbage, "the device closed a host socket that was writing a good CONNECT line");
                end.eof = true;
            }
        }

        void guestAnswers() throws Exception {
            Conn conn = pick(connsWhere(c -> c.state.equals("OFFERED") && !c.doomed));
            if (conn == null) {
                return;
            }
            if (random.nextInt(5) == 0) {
                log.add("guest refuses " + conn);
                conn.state = "CLOSED";
                guestSends(conn, packet(conn, VsockHeader.OP_RST));
            } else {
                log.add("guest accepts " + conn);
                conn.state = "ESTABLISHED";
                guestSends(conn, packet(conn, VsockHeader.OP_RESPONSE));
            }
        }

        void guestSendsData() throws Exception {
            Conn conn = pick(connsWhere(c -> c.usable() && !c.guestShutSend && c.devCreditKnown));
            if (conn == null) {
                return;
            }
            long credit = conn.viewCredit();
            if (credit == 0) {
                log.add("guest out of credit, CREDIT_REQUEST on " + conn);
                guestSends(conn, packet(conn, VsockHeader.OP_CREDIT_REQUEST));
                return;
            }
            int max = random.nextInt(8) == 0 ? 65_536 : 4096;
            int n = (int) Math.min(credit, random.nextInt(0, max + 1));
            byte[] data = new byte[n];
            random.nextBytes(data);
            log.add("guest RW " + n + " on " + conn + " (credit " + credit + ")");
            guestSends(conn, packet(conn, VsockHeader.OP_RW).withPayload(data));
            conn.sent.writeBytes(data);
        }

        void guestGrantsCredit() throws Exception {
            Conn conn = pick(connsWhere(c -> (c.usable() || c.state.equals("OFFERED")) && !c.doomed));
            if (conn == null) {
                return;
            }
            if (random.nextBoolean()) {
                conn.consumed = conn.received.size();
            } else {
                conn.consumed += random.nextInt(0, conn.received.size() - conn.consumed + 1);
            }
            if (random.nextInt(4) == 0) {
                conn.bufAlloc = pickBufAlloc();
            }
            conn.creditRequested = false;
            log.add("guest CREDIT_UPDATE " + conn.consumed + "/" + conn.bufAlloc + " on " + conn);
            guestSends(conn, packet(conn, VsockHeader.OP_CREDIT_UPDATE));
        }

        void hostSendsData() throws Exception {
            HostEnd end = pick(hostEnds.stream()
                    .filter(e -> e.conn != null && !e.closed && !e.shutOutput && !e.eof)
                    .toList());
            if (end == null) {
                return;
            }
            byte[] data = new byte[random.nextInt(1, random.nextInt(8) == 0 ? 200_000 : 8192)];
            random.nextBytes(data);
            int n = write(end, data);
            log.add("host writes " + n + " of " + data.length + " on " + end.conn);
        }

        int write(HostEnd end, byte[] data) {
            int n;
            try {
                n = end.channel.write(ByteBuffer.wrap(data));
            } catch (IOException e) {
                end.eof = true; // the device closed its end
                return 0;
            }
            end.written.write(data, 0, n);
            return n;
        }

        void hostReads(boolean all) throws Exception {
            log.add("hosts read");
            for (HostEnd end : hostEnds) {
                if (!end.closed && (all || end.reading)) {
                    readHost(end);
                }
            }
        }

        void readHost(HostEnd end) throws Exception {
            ByteBuffer buffer = ByteBuffer.allocate(65_536);
            while (!end.eof) {
                buffer.clear();
                int n;
                try {
                    n = end.channel.read(buffer);
                } catch (IOException e) {
                    n = -1;
                }
                if (n < 0) {
                    end.eof = true;
                    break;
                }
                if (n == 0) {
                    break;
                }
                int at = 0;
                while (!end.lineDone && at < n) {
                    char c = (char) buffer.get(at++);
                    if (c == '\n') {
                        end.lineDone = true;
                        linkOk(end);
                    } else {
                        end.line.append(c);
                        assertTrue(end.line.length() < 64, "a line past 64 characters: " + end.line);
                    }
                }
                if (at < n) {
                    assertNotNull(end.conn, "bytes on a host socket the guest never accepted");
                    end.read.write(buffer.array(), at, n - at);
                    assertPrefix(end.read.toByteArray(), end.conn.sent.toByteArray(), "guest -> host");
                }
            }
            if (end.eof && !end.lineDone) {
                end.lineDone = true; // closed before the guest accepted: refused
            }
        }

        void linkOk(HostEnd end) {
            String text = end.line.toString();
            assertTrue(!end.garbage, "a host process that wrote garbage was answered " + text);
            assertTrue(text.startsWith("OK "), "not an OK line: " + text);
            int port = Integer.parseUnsignedInt(text.substring(3));
            Conn conn = conns.get(VsockConnections.key(port, end.guestPort));
            assertNotNull(conn, "OK for a connection the guest never accepted: " + text);
            assertTrue(conn.host == null, "two host processes for " + conn);
            assertTrue(conn.state.equals("ESTABLISHED") || conn.state.equals("CLOSED"), "OK before RESPONSE: " + conn);
            conn.host = end;
            end.conn = conn;
            assertPrefix(conn.received.toByteArray(), end.written.toByteArray(), "host -> guest");
        }

        void closeSomething() throws Exception {
            switch (random.nextInt(6)) {
                case 0, 1 -> {
                    Conn conn = pick(connsWhere(Conn::usable));
                    if (conn == null) {
                        return;
                    }
                    int flags = random.nextInt(1, 4);
                    log.add("guest SHUTDOWN " + flags + " on " + conn);
                    conn.guestShutRcv |= (flags & VsockHeader.SHUTDOWN_RCV) != 0;
                    conn.guestShutSend |= (flags & VsockHeader.SHUTDOWN_SEND) != 0;
                    guestSends(conn, packet(conn, VsockHeader.OP_SHUTDOWN).withFlags(flags));
                    if (conn.guestShutRcv && conn.guestShutSend) {
                        conn.state = "CLOSED";
                    }
                }
                case 2 -> {
                    Conn conn = pick(connsWhere(c -> c.usable()));
                    if (conn == null) {
                        return;
                    }
                    log.add("guest RST on " + conn);
                    conn.state = "CLOSED";
                    guestSends(conn, packet(conn, VsockHeader.OP_RST));
                }
                case 3 -> {
                    HostEnd end = pick(hostEnds.stream().filter(e -> !e.closed).toList());
                    if (end != null) {
                        log.add("host shuts its output on " + end.conn);
                        end.shutOutput = true;
                        try {
                            end.channel.shutdownOutput();
                        } catch (IOException e) {
                            end.eof = true;
                        }
                    }
                }
                default -> {
                    HostEnd end = pick(hostEnds.stream().filter(e -> !e.closed).toList());
                    if (end != null) {
                        log.add("host closes " + end.conn);
                        if (random.nextBoolean()) {
                            readHost(end);
                        }
                        end.closed = true;
                        end.channel.close();
                    }
                }
            }
        }

        // ---- the hostile guest ----

        void hostile() throws Exception {
            Conn target = random.nextBoolean() ? pick(connsWhere(c -> !c.state.equals("CLOSED"))) : null;
            int hostPort = target != null ? target.hostPort : 7000 + random.nextInt(1000);
            int guestPort = target != null ? target.guestPort : nextHostileGuestPort++;
            int received = target != null ? target.received.size() : 0;
            Packet base = Packet.of(CID, guestPort, HOST, hostPort, VsockHeader.OP_CREDIT_UPDATE)
                    .withCredit(random.nextInt(), random.nextInt());
            if (target != null) {
                base = base.withCredit(target.bufAlloc, target.consumed);
            }
            int kind = random.nextInt(14);
            boolean reaches = true; // the device takes its credit figures if it has the connection
            boolean doom = true; // the device resets the connection, if it has it
            byte[] bytes;
            String what;
            switch (kind) {
                case 0 -> {
                    int op = new int[] {0, 8, 9, 0xffff, random.nextInt(8, 0x10000)}[random.nextInt(5)];
                    bytes = withOp(base, op).encode();
                    what = "op " + op;
                }
                case 1 -> {
                    byte[] payload = new byte[random.nextInt(0, 200)];
                    bytes = withOp(base, VsockHeader.OP_RW).withPayload(payload).encode();
                    long len = switch (random.nextInt(4)) {
                        case 0 -> 0xffff_ffffL;
                        case 1 -> 0x8000_0000L;
                        case 2 -> 65_537;
                        default -> payload.length + random.nextInt(1, 100);
                    };
                    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(24, (int) len);
                    reaches = false;
                    what = "len " + len + " with " + payload.length + " bytes";
                }
                case 2 -> {
                    long[] cids = {0, 1, 2, 4, 0xffff_ffffL, CID | 1L << 32, -1L};
                    long src = random.nextBoolean() ? cids[random.nextInt(cids.length)] : CID;
                    long dst = src == CID ? new long[] {0, 1, 3, 4, 0xffff_ffffL}[random.nextInt(5)] : HOST;
                    int op = random.nextInt(1, 8);
                    Packet p = withOp(base, op);
                    bytes = new Packet(
                                    src,
                                    dst,
                                    p.srcPort(),
                                    p.dstPort(),
                                    op == VsockHeader.OP_RW ? 5 : 0,
                                    1,
                                    op,
                                    3,
                                    p.bufAlloc(),
                                    p.fwdCnt(),
                                    op == VsockHeader.OP_RW ? new byte[5] : new byte[0])
                            .encode();
                    reaches = false;
                    doom = false;
                    what = "forged cids " + src + " -> " + dst + " op " + op;
                }
                case 3 -> {
                    byte[] payload = new byte[random.nextInt(1, 500)];
                    random.nextBytes(payload);
                    target = null;
                    bytes = Packet.of(CID, nextHostileGuestPort++, HOST, 7000 + random.nextInt(1000), 5)
                            .withPayload(payload)
                            .encode();
                    what = "data on a connection never opened";
                }
                case 4 -> {
                    int bufAlloc = new int[] {-1, Integer.MIN_VALUE, random.nextInt(), 0}[random.nextInt(4)];
                    int fwdCnt = random.nextBoolean() ? received + random.nextInt(1, 1 << 20) : random.nextInt();
                    base = withOp(base, VsockHeader.OP_CREDIT_UPDATE).withCredit(bufAlloc, fwdCnt);
                    bytes = base.encode();
                    doom = false;
                    what = "credit lie " + Integer.toUnsignedString(bufAlloc) + "/" + Integer.toUnsignedString(fwdCnt);
                }
                case 5 -> {
                    storm(target);
                    return;
                }
                case 6 -> {
                    int flags = new int[] {0, 4, -1, -4, random.nextInt()}[random.nextInt(5)];
                    bytes = withOp(base, VsockHeader.OP_SHUTDOWN)
                            .withFlags(flags)
                            .encode();
                    what = "SHUTDOWN flags " + Integer.toHexString(flags);
                }
                case 7 -> {
                    if (target != null && target.state.equals("OFFERED")) {
                        target = null; // a RESPONSE there would be a legitimate accept
                        base = Packet.of(CID, nextHostileGuestPort++, HOST, 7000 + random.nextInt(1000), 2);
                    }
                    bytes = withOp(base, VsockHeader.OP_RESPONSE).encode();
                    what = "RESPONSE without REQUEST";
                }
                case 8 -> {
                    if (target != null && target.fromGuest) {
                        // Reset meanwhile, unknown to the guest yet, it would be a new connection to a listening port.
                        target = null;
                        base = Packet.of(CID, nextHostileGuestPort++, HOST, 7000 + random.nextInt(1000), 1);
                    }
                    bytes = withOp(base, VsockHeader.OP_REQUEST).encode();
                    what = target != null ? "duplicate REQUEST" : "REQUEST to a port nothing listens on";
                }
                case 9 -> {
                    int type = new int[] {0, 2, 3, 0xffff}[random.nextInt(4)];
                    Packet p = withOp(base, random.nextInt(1, 8));
                    bytes = new Packet(
                                    p.srcCid(),
                                    p.dstCid(),
                                    p.srcPort(),
                                    p.dstPort(),
                                    0,
                                    type,
                                    p.op(),
                                    0,
                                    p.bufAlloc(),
                                    p.fwdCnt(),
                                    new byte[0])
                            .encode();
                    reaches = false;
                    what = "type " + type + " op " + p.op();
                }
                case 10, 11, 12 -> {
                    badChain(kind, withOp(base, VsockHeader.OP_RW).withPayload(new byte[random.nextInt(0, 100)]));
                    return;
                }
                default -> {
                    bytes = withOp(base, VsockHeader.OP_CREDIT_REQUEST).encode();
                    doom = false;
                    what = "CREDIT_REQUEST";
                }
            }
            log.add("hostile " + what + " on " + (target != null ? target.toString() : "no connection"));
            sendBytes(bytes, kind != 1 && random.nextInt(10) == 0); // junk after it would make a short len good
            if (target != null) {
                if (reaches) {
                    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
                    target.window.add(new int[] {b.getInt(40), b.getInt(36)});
                }
                if (doom) {
                    target.doomed = true;
                }
            }
        }

        static Packet withOp(Packet p, int op) {
            return new Packet(
                    p.srcCid(),
                    p.dstCid(),
                    p.srcPort(),
                    p.dstPort(),
                    p.len(),
                    p.type(),
                    op,
                    p.flags(),
                    p.bufAlloc(),
                    p.fwdCnt(),
                    p.payload());
        }

        /** Many packets at once, most for connections that do not exist: resets the device owes pile up. */
        void storm(Conn target) throws Exception {
            int count = random.nextInt(20, 200);
            log.add("storm of " + count);
            for (int i = 0; i < count; i++) {
                int op = random.nextInt(10) == 0 ? random.nextInt(0, 10) : VsockHeader.OP_RST + random.nextInt(3);
                byte[] payload = op == VsockHeader.OP_RW ? new byte[random.nextInt(1, 50)] : new byte[0];
                Packet p = Packet.of(CID, nextHostileGuestPort++, HOST, 7000 + random.nextInt(1000), op)
                        .withPayload(payload);
                long gpa = place(p.encode());
                queues.get(TX).addChain(Buffer.readable(gpa, p.encode().length));
            }
            if (target != null && target.usable() && random.nextBoolean()) {
                log.add("  with the guest's RST of " + target);
                target.state = "CLOSED";
                Packet p = packet(target, VsockHeader.OP_RST);
                queues.get(TX).addChain(Buffer.readable(place(p.encode()), HEADER));
            }
            harness.notifyQueue(TX);
        }

        /** A transmit chain the device must return unused: writable buffers, outside memory, or too short. */
        void badChain(int kind, Packet packet) throws Exception {
            byte[] bytes = packet.encode();
            List<Buffer> descriptors = new ArrayList<>();
            switch (kind) {
                case 10 -> {
                    log.add("hostile tx chain with a writable buffer");
                    long gpa = harness.allocate(bytes.length + GUARD);
                    byte[] contents = filled(bytes.length + GUARD);
                    System.arraycopy(bytes, 0, contents, 0, bytes.length);
                    harness.memory().writeFully(gpa, contents);
                    placed.add(new Placed(gpa, bytes.length, false, bytes.clone()));
                    if (random.nextBoolean()) {
                        descriptors.add(Buffer.writable(gpa, bytes.length));
                    } else {
                        descriptors.add(Buffer.readable(gpa, HEADER));
                        descriptors.add(Buffer.writable(gpa + HEADER, bytes.length - HEADER + 1));
                    }
                }
                case 11 -> {
                    log.add("hostile tx chain outside guest memory");
                    descriptors.add(Buffer.readable(place(Arrays.copyOf(bytes, HEADER)), HEADER));
                    descriptors.add(Buffer.readable(harness.memory().totalSize() - 8, 64));
                }
                default -> {
                    int n = random.nextInt(1, HEADER);
                    log.add("hostile tx chain of " + n + " bytes");
                    descriptors.add(Buffer.readable(place(Arrays.copyOf(bytes, n)), n));
                }
            }
            queues.get(TX).addChain(descriptors.toArray(Buffer[]::new));
            harness.notifyQueue(TX);
        }

        // ---- stalls ----

        /** The host stops reading: the guest, keeping to its credit, must stall; then, maybe, it sends past it. */
        void hostStopsReading() throws Exception {
            Conn conn = pick(connsWhere(c -> c.usable()
                    && !c.guestShutSend
                    && c.devCreditKnown
                    && c.host != null
                    && !c.host.closed
                    && !c.host.eof));
            if (conn == null) {
                return;
            }
            log.add("host stops reading " + conn);
            conn.host.reading = false;
            topUpRx(16);
            guestSends(conn, packet(conn, VsockHeader.OP_CREDIT_REQUEST));
            drainRx();
            if (!conn.usable()) {
                return;
            }
            long toHostBefore = device.statistics().bytesToHost();
            int fwdBefore = conn.devFwdCnt;
            int sentBefore = conn.sent.size();
            for (int i = 0; i < 100 && conn.usable(); i++) {
                long credit = conn.viewCredit();
                if (credit == 0) {
                    guestSends(conn, packet(conn, VsockHeader.OP_CREDIT_REQUEST));
                    drainRx();
                    if (conn.viewCredit() == 0) {
                        break;
                    }
                    continue;
                }
                byte[] data = new byte[(int) Math.min(credit, 65_536)];
                random.nextBytes(data);
                guestSends(conn, packet(conn, VsockHeader.OP_RW).withPayload(data));
                conn.sent.writeBytes(data);
                settle();
                topUpRx(16);
            }
            if (!conn.usable()) {
                return; // reset meanwhile by the host's end
            }
            int sentDuring = conn.sent.size() - sentBefore;
            long toHost = device.statistics().bytesToHost() - toHostBefore;
            log.add("  stalled after " + sentDuring + " bytes, " + toHost + " of them in the host's socket");
            assertEquals(0, conn.viewCredit(), "a host that never reads must stall the guest: " + conn);
            assertEquals(
                    Integer.toUnsignedLong(conn.devFwdCnt - fwdBefore),
                    toHost,
                    "fwd_cnt counts the bytes that reached the host");
            assertTrue(
                    sentDuring - toHost <= BUFFER_SIZE,
                    "the device holds " + (sentDuring - toHost) + " bytes for a stalled host, past the credit");
            if (random.nextBoolean()) {
                byte[] data = new byte[random.nextInt(1, 65_537)];
                random.nextBytes(data);
                log.add("  guest sends " + data.length + " bytes past its credit");
                expectedViolations++;
                conn.doomed = true;
                guestSends(conn, packet(conn, VsockHeader.OP_RW).withPayload(data));
                long active = device.statistics().activeConnections();
                settle();
                assertTrue(conn.rstReceived, "a guest past its credit gets RST: " + conn);
                assertEquals(active - 1, device.statistics().activeConnections(), "and loses the connection");
            } else if (random.nextBoolean()) {
                conn.host.reading = true;
            }
        }

        /** The guest stops reading: the host writer must stall in its own socket, the device buffering nothing. */
        void guestStopsReading() throws Exception {
            Conn conn = pick(connsWhere(c -> c.usable()
                    && !c.guestShutRcv
                    && (c.hostShutFlags & VsockHeader.SHUTDOWN_SEND) == 0
                    && c.host != null
                    && !c.host.closed
                    && !c.host.shutOutput
                    && !c.host.eof));
            if (conn == null) {
                return;
            }
            log.add("guest stops reading " + conn);
            guestSends(conn, packet(conn, VsockHeader.OP_CREDIT_UPDATE));
            drainRx();
            long limit = Math.max(
                    conn.received.size(),
                    Integer.toUnsignedLong(conn.consumed) + Integer.toUnsignedLong(conn.bufAlloc));
            byte[] chunk = new byte[65_536];
            int zeros = 0;
            long written = 0;
            while (zeros < 2 && written < 32L << 20 && !conn.host.eof && conn.usable()) {
                random.nextBytes(chunk);
                int n = write(conn.host, chunk);
                written += n;
                zeros = n == 0 ? zeros + 1 : 0;
                settle();
                topUpRx(32);
            }
            if (!conn.usable() || conn.host.eof) {
                return;
            }
            log.add("  host stalled after " + written + " bytes, guest has " + conn.received.size());
            assertEquals(2, zeros, "a guest that stops reading must stall the host writer");
            assertTrue(conn.received.size() <= limit, "the guest received past its credit: " + conn);
        }

        /** Gives the device receive buffers until it has nothing more to put in them (resets owed included). */
        void drainRx() throws Exception {
            long before;
            int rounds = 0;
            do {
                before = packetsReceived;
                topUpRx(48);
                settle();
            } while (packetsReceived != before && ++rounds < 50);
        }

        // ---- the end of a try ----

        void finish() throws Exception {
            log.add("finish: everyone reads, the guest grants credit");
            for (HostEnd end : hostEnds) {
                end.reading = true;
            }
            topUpRx(48);
            for (Conn conn : conns.values()) {
                if (conn.usable() && !conn.guestShutRcv) {
                    conn.consumed = conn.received.size();
                    conn.bufAlloc = BUFFER_SIZE;
                    log.add("finish credit " + conn);
                    guestSends(conn, packet(conn, VsockHeader.OP_CREDIT_UPDATE));
                }
            }
            settle();
            long quiet = 0;
            for (int round = 0; round < 200 && quiet < 3; round++) {
                long before = progress();
                hostReads(true);
                settle();
                for (Conn conn : conns.values()) {
                    if (conn.usable()
                            && !conn.guestShutRcv
                            && (conn.creditRequested
                                    || conn.consumed != conn.received.size()
                                    || conn.bufAlloc != BUFFER_SIZE)) {
                        conn.consumed = conn.received.size();
                        conn.bufAlloc = BUFFER_SIZE;
                        conn.creditRequested = false;
                        guestSends(conn, packet(conn, VsockHeader.OP_CREDIT_UPDATE));
                    }
                }
                topUpRx(48);
                settle();
                quiet = progress() == before ? quiet + 1 : 0;
            }
            for (Conn conn : conns.values()) {
                assertTrue(
                        conn.doomed || !conn.state.equals("REQUESTED"), "no RESPONSE nor RST for the guest's " + conn);
                if (!conn.usable() || conn.host == null || conn.host.closed || conn.host.eof) {
                    continue;
                }
                if (!conn.guestShutRcv) {
                    assertArrayEquals(
                            conn.host.written.toByteArray(),
                            conn.received.toByteArray(),
                            "the guest did not get all the host wrote on " + conn);
                    if (conn.host.shutOutput) {
                        assertTrue(
                                (conn.hostShutFlags & VsockHeader.SHUTDOWN_SEND) != 0,
                                "the host's shutdown did not reach the guest on " + conn);
                    }
                }
                assertArrayEquals(
                        conn.sent.toByteArray(), conn.host.read.toByteArray(), "the host did not get all of " + conn);
            }

            log.add("finish: the guest resets everything, the hosts close");
            for (Conn conn : conns.values()) {
                if (!conn.state.equals("CLOSED") && !conn.rstReceived) {
                    conn.state = "CLOSED";
                    guestSends(conn, packet(conn, VsockHeader.OP_RST));
                }
            }
            for (HostEnd end : hostEnds) {
                end.closed = true;
                end.channel.close();
            }
            for (int i = 0; i < 5; i++) {
                topUpRx(48);
                settle();
            }
            assertEquals(0, device.statistics().activeConnections(), "connections left after everyone closed");
            activate();
            assertEquals(0, device.statistics().activeConnections(), "connections left after a reset");
            assertEquals(0, harness.loopErrors());
            checkGuards();
        }

        long progress() {
            long total = rwReceivedTotal + packetsReceived;
            for (HostEnd end : hostEnds) {
                total += end.read.size();
            }
            return total;
        }

        void checkGuards() throws Exception {
            for (Placed buffer : placed) {
                byte[] after = new byte[buffer.length() + GUARD];
                harness.memory().readFully(buffer.gpa(), after);
                assertArrayEquals(
                        filled(GUARD),
                        Arrays.copyOfRange(after, buffer.length(), after.length),
                        "guard after " + buffer);
                if (!buffer.mayBeWritten()) {
                    assertArrayEquals(
                            buffer.contents(), Arrays.copyOf(after, buffer.length()), buffer + " is not the device's");
                }
            }
        }
    }

    // ---- helpers ----

    private static void assertPrefix(byte[] got, byte[] sent, String direction) {
        assertTrue(
                got.length <= sent.length, direction + ": " + got.length + " bytes arrived, " + sent.length + " sent");
        if (!Arrays.equals(got, 0, got.length, sent, 0, got.length)) {
            fail(direction + ": the bytes that arrived are not the bytes sent, in order (first difference at "
                    + Arrays.mismatch(got, 0, got.length, sent, 0, got.length) + ")");
        }
    }

    private static byte[] filled(int length) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, PATTERN);
        return bytes;
    }

    /** Runs a try on a thread of its own, so that a device that spins or blocks fails the try instead of hanging. */
    private static void inWorker(long seed, Callable<Void> body) throws Exception {
        FutureTask<Void> task = new FutureTask<>(body);
        Thread thread = Thread.ofPlatform().daemon().name("vsock-try-" + seed).start(task);
        try {
            task.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw (Exception) e.getCause();
        } catch (TimeoutException e) {
            AssertionError hung = new AssertionError("the try with seed " + seed + " hung");
            hung.setStackTrace(thread.getStackTrace());
            throw hung;
        }
    }

    /** {@return the sockets, eventfds and epoll fds this process has open} */
    private static long fdCount() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                        try {
                            String target = Files.readSymbolicLink(fd).toString();
                            return target.startsWith("socket:") || target.startsWith("anon_inode:");
                        } catch (IOException e) {
                            return false; // the listing's own fd, gone already
                        }
                    })
                    .count();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
