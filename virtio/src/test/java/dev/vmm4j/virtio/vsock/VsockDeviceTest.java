// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import static dev.vmm4j.virtio.vsock.VsockTestDriver.HOST;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.vsock.VsockTestDriver.Packet;
import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** virtio-vsock in the harness, with the test as the guest's driver and as the host's processes. */
class VsockDeviceTest {
    private static final long CID = 3;
    private static final int GUEST_BUF = 64 * 1024;

    @TempDir
    Path dir;

    private VsockDevice device(VsockConfig config) throws IOException {
        return VsockDevice.open(config);
    }

    private VsockTestDriver driver(VsockDevice device) {
        return new VsockTestDriver(device, 32, 44 + 4096);
    }

    private static Packet fromGuest(int guestPort, int hostPort, int op) {
        return Packet.of(CID, guestPort, HOST, hostPort, op).withCredit(GUEST_BUF, 0);
    }

    private static SocketChannel connectUnix(Path path) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(path));
        return channel;
    }

    private static String readLine(SocketChannel channel) throws IOException {
        StringBuilder line = new StringBuilder();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (true) {
            one.clear();
            int n;
            try {
                n = channel.read(one);
            } catch (java.net.SocketException reset) {
                n = -1; // closed with the rest of the line unread: a reset, which is a close too
            }
            if (n < 0) {
                return line.length() == 0 ? null : line.toString();
            }
            char c = (char) one.get(0);
            if (c == '\n') {
                return line.toString();
            }
            line.append(c);
        }
    }

    private static byte[] readExactly(SocketChannel channel, int n) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(n);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                break;
            }
        }
        return java.util.Arrays.copyOf(buffer.array(), buffer.position());
    }

    @Test
    void theConfigurationSpaceHoldsTheGuestCidAndThereAreThreeQueues() throws Exception {
        try (VsockDevice device = device(VsockConfig.of(0xFEDC_BA98L).withHost(new VsockHost()))) {
            assertEquals(VirtioIds.VSOCK, device.deviceType());
            assertEquals(3, device.queueMaxSizes().size());
            try (VsockTestDriver driver = driver(device)) {
                assertEquals(0xFEDC_BA98L, driver.harness.readConfig(0, 8));
                assertEquals(0xBA98L, driver.harness.readConfig(0, 2));
                assertEquals(0, driver.harness.readConfig(4, 4));
            }
        }
    }

    @Test
    void reservedCidsAndMissingHostEndsAreRefused() {
        for (long cid : new long[] {0, 1, 2, 0xFFFF_FFFFL}) {
            assertThrows(IllegalArgumentException.class, () -> VsockConfig.of(cid));
        }
        assertTrue(VsockConfig.of(3).problems().getFirst().contains("needs a host end"));
        assertTrue(VsockConfig.of(3)
                .withVhost(true)
                .withHost(new VsockHost())
                .problems()
                .getFirst()
                .contains("vhost"));
    }

    @Test
    void aHostProcessConnectsWithConnectAndTheStreamFlowsBothWays() throws Exception {
        Path socket = dir.resolve("vm.vsock");
        try (VsockDevice device = device(VsockConfig.of(CID).withUnixSocket(socket));
                VsockTestDriver driver = driver(device);
                SocketChannel host = connectUnix(socket)) {
            host.write(ByteBuffer.wrap("CONNECT 1234\n".getBytes(StandardCharsets.US_ASCII)));
            List<Packet> got = driver.receive();
            assertEquals(1, got.size(), got.toString());
            Packet request = got.getFirst();
            assertEquals(VsockHeader.OP_REQUEST, request.op());
            assertEquals(HOST, request.srcCid());
            assertEquals(CID, request.dstCid());
            assertEquals(1234, request.dstPort());
            assertTrue(Integer.toUnsignedLong(request.srcPort()) >= 1L << 30, "an ephemeral port: " + request);
            assertEquals(VsockDevice.BUFFER_SIZE, request.bufAlloc());
            int hostPort = request.srcPort();

            driver.send(fromGuest(1234, hostPort, VsockHeader.OP_RESPONSE));
            driver.receive();
            assertEquals("OK " + Integer.toUnsignedString(hostPort), readLine(host));

            host.write(ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII)));
            got = driver.receive();
            assertEquals(1, got.size(), got.toString());
            assertEquals(VsockHeader.OP_RW, got.getFirst().op());
            assertEquals("ping", new String(got.getFirst().payload(), StandardCharsets.US_ASCII));

            driver.send(fromGuest(1234, hostPort, VsockHeader.OP_RW).withPayload("pong".getBytes()), true);
            driver.receive();
            assertEquals("pong", new String(readExactly(host, 4), StandardCharsets.US_ASCII));

            host.shutdownOutput();
            got = driver.receive();
            assertEquals(1, got.size(), got.toString());
            assertEquals(VsockHeader.OP_SHUTDOWN, got.getFirst().op());
            assertEquals(VsockHeader.SHUTDOWN_SEND, got.getFirst().flags());

            driver.send(fromGuest(1234, hostPort, VsockHeader.OP_SHUTDOWN).withFlags(3));
            got = driver.receive();
            assertEquals(VsockHeader.OP_RST, got.getFirst().op(), "a reset acknowledges the guest's close");
            assertEquals(-1, host.read(ByteBuffer.allocate(1)), "the host end sees the close");
            VsockStatistics statistics = device.statistics();
            assertEquals(1, statistics.connectionsOpened());
            assertEquals(0, statistics.activeConnections());
            assertEquals(4, statistics.bytesToGuest());
            assertEquals(4, statistics.bytesToHost());
            assertEquals(0, driver.harness.loopErrors());
        }
    }

    @Test
    void aGuestConnectionGoesToTheUnixSocketOfItsPortOrIsReset() throws Exception {
        Path socket = dir.resolve("vm.vsock");
        try (VsockDevice device = device(VsockConfig.of(CID).withUnixSocket(socket));
                VsockTestDriver driver = driver(device);
                ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(dir.resolve("vm.vsock_5000")));
            driver.send(fromGuest(1025, 5000, VsockHeader.OP_REQUEST));
            List<Packet> got = driver.receive();
            assertEquals(VsockHeader.OP_RESPONSE, got.getFirst().op(), got.toString());
            assertEquals(5000, got.getFirst().srcPort());
            assertEquals(1025, got.getFirst().dstPort());
            try (SocketChannel accepted = listener.accept()) {
                driver.send(fromGuest(1025, 5000, VsockHeader.OP_RW).withPayload("hello".getBytes()));
                driver.receive();
                assertEquals("hello", new String(readExactly(accepted, 5), StandardCharsets.US_ASCII));
                accepted.close();
                got = driver.receive();
                assertEquals(VsockHeader.OP_SHUTDOWN, got.getFirst().op(), got.toString());
                assertEquals(3, got.getFirst().flags(), "the host closed both ways");
            }

            driver.send(fromGuest(1026, 6000, VsockHeader.OP_REQUEST));
            got = driver.receive();
            assertEquals(VsockHeader.OP_RST, got.getFirst().op(), "nothing listens on host port 6000");
            assertEquals(1, device.statistics().connectionsRefused());
        }
    }

    @Test
    void aResetStormStallsTheGuestsTransmitQueueInsteadOfLosingResets() throws Exception {
        try (VsockDevice device = device(VsockConfig.of(CID).withHost(new VsockHost()));
                VsockTestDriver driver = new VsockTestDriver(device, 0, 44 + 4096)) {
            int sent = 0;
            for (; sent < 256; sent++) { // data for connections that do not exist: each costs a reset
                driver.send(fromGuest(10_000 + sent, 7, VsockHeader.OP_RW).withPayload(new byte[1]));
            }
            assertEquals(256, driver.txUsed(), "the first 256 are taken: their resets fit");
            for (; sent < 400; sent++) {
                driver.send(fromGuest(10_000 + sent, 7, VsockHeader.OP_RW).withPayload(new byte[1]));
            }
            assertEquals(256, driver.txUsed(), "with 256 resets waiting for guest buffers, the rest wait in the ring");
            int resets = 0;
            for (int round = 0; round < 20 && resets < 400; round++) {
                driver.postRx(64);
                for (Packet packet : driver.receive()) {
                    assertEquals(VsockHeader.OP_RST, packet.op());
                    assertEquals(10_000 + resets, packet.dstPort(), "in the order the packets came");
                    resets++;
                }
            }
            assertEquals(400, resets);
            assertEquals(400, driver.txUsed());
            assertEquals(0, device.statistics().resetsDropped());
            assertEquals(0, driver.harness.loopErrors());
        }
    }

    @Test
    void hostSocketsThatNeverSayConnectAndHostConnectionsTheGuestNeverAnswersAreEnded() throws Exception {
        Path socket = dir.resolve("vm.vsock");
        try (VsockDevice device = device(VsockConfig.of(CID).withUnixSocket(socket));
                VsockTestDriver driver = driver(device);
                SocketChannel silent = connectUnix(socket);
                SocketChannel unanswered = connectUnix(socket)) {
            unanswered.write(ByteBuffer.wrap("CONNECT 1234\n".getBytes(StandardCharsets.US_ASCII)));
            Packet request = driver.receive().getFirst();
            assertEquals(VsockHeader.OP_REQUEST, request.op());
            assertEquals(2, device.statistics().activeConnections());
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            Packet reset = null;
            while (device.statistics().activeConnections() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(100);
                for (Packet packet : driver.receive()) {
                    reset = packet;
                }
            }
            assertEquals(0, device.statistics().activeConnections(), "both waits ran out");
            assertEquals(null, readLine(unanswered), "a connection the guest never answered is closed");
            assertEquals(null, readLine(silent), "a socket that never said CONNECT is closed");
            assertEquals(VsockHeader.OP_RST, reset.op(), "the guest, which saw the request, is told it is over");
            assertEquals(request.srcPort(), reset.srcPort());
        }
    }

    @Test
    void aListenerClosedWhileAThreadWaitsInAcceptWakesIt() throws Exception {
        VsockHost host = new VsockHost();
        VsockListener listener = host.listen(7000);
        CompletableFuture<Exception> accepting = CompletableFuture.supplyAsync(() -> {
            try {
                listener.accept().close();
                return null;
            } catch (Exception e) {
                return e;
            }
        });
        Thread.sleep(200);
        listener.close();
        assertTrue(
                accepting.get(10, java.util.concurrent.TimeUnit.SECONDS)
                        instanceof java.nio.channels.ClosedChannelException);
        host.listen(7000).close(); // the port is free again
    }

    @Test
    void aLiveListenerWithAFullBacklogIsInUseAndASocketThatReplacedOursIsNotDeleted() throws Exception {
        Path socket = dir.resolve("busy.sock");
        List<SocketChannel> clients = new java.util.ArrayList<>();
        try (ServerSocketChannel busy = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            busy.bind(UnixDomainSocketAddress.of(socket), 1);
            for (int i = 0; i < 4; i++) { // more than the backlog: the next connect would block
                SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX);
                client.configureBlocking(false);
                try {
                    client.connect(UnixDomainSocketAddress.of(socket));
                } catch (IOException full) {
                    // EAGAIN once the backlog is full
                }
                clients.add(client);
            }
            IOException inUse = assertThrows(
                    IOException.class, () -> device(VsockConfig.of(CID).withUnixSocket(socket)));
            assertTrue(inUse.getMessage().contains("in use"), inUse.getMessage());
        } finally {
            for (SocketChannel client : clients) {
                client.close();
            }
        }
        Files.deleteIfExists(socket);

        Path ours = dir.resolve("ours.sock");
        VsockDevice device = device(VsockConfig.of(CID).withUnixSocket(ours));
        Files.delete(ours);
        try (ServerSocketChannel replacement = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            replacement.bind(UnixDomainSocketAddress.of(ours));
            device.close();
            assertTrue(Files.exists(ours), "close() deleted a socket another program made at the path");
        }
    }

    @Test
    void aRemovedConnectionLeavesTheQueuesOfWhatIsOwed() {
        VsockCounters counters = new VsockCounters();
        VsockConnections connections = new VsockConnections(new NoOps(), counters, 4, 1024, () -> {});
        int[] pair = dev.vmm4j.vmm.sys.Libc.socketpair(dev.vmm4j.kvm.bindings.LinuxHeaders.SOCK_STREAM());
        dev.vmm4j.vmm.sys.Libc.close(pair[1]);
        VsockConnection connection =
                connections.add(VsockConnection.Origin.GUEST, pair[0], VsockConnection.State.ESTABLISHED);
        connections.bindPorts(connection, 5000, 1025);
        connections.owes(connection, VsockConnection.OWES_RESPONSE);
        connections.queueReadable(connection);
        assertEquals(connection, connections.byPorts(5000, 1025));
        connections.remove(connection);
        assertEquals(null, connections.nextOwing());
        assertEquals(null, connections.nextReadable());
        assertEquals(null, connections.byPorts(5000, 1025));
        assertEquals(0, counters.activeConnections);
        for (int i = 0; i < 10_000; i++) { // churn: the table and the queues stay as small as the connections
            VsockConnection next = connections.add(
                    VsockConnection.Origin.GUEST,
                    dev.vmm4j.vmm.sys.Libc.eventfd(0, 0),
                    VsockConnection.State.ESTABLISHED);
            connections.bindPorts(next, 5000, i);
            connections.owes(next, VsockConnection.OWES_RESPONSE);
            connections.queueReadable(next);
            connections.remove(next);
        }
        assertEquals(0, connections.size());
        assertEquals(null, connections.nextOwing());
    }

    /** EventOps for a table whose sockets are never watched. */
    private static final class NoOps implements dev.vmm4j.vmm.event.EventOps {
        @Override
        public void add(int fd, int events, int data) {}

        @Override
        public void modify(int fd, int events, int data) {}

        @Override
        public void remove(int fd) {}
    }

    @Test
    void aHostLineThatIsNotConnectClosesTheSocketAndTheGuestHearsNothing() throws Exception {
        Path socket = dir.resolve("vm.vsock");
        try (VsockDevice device = device(VsockConfig.of(CID).withUnixSocket(socket));
                VsockTestDriver driver = driver(device)) {
            for (String line : new String[] {
                "HELLO 1\n", "CONNECT -1\n", "CONNECT 4294967296\n", "CONNECT\n", "CONNECT 1 " + "9".repeat(40) + "\n"
            }) {
                try (SocketChannel host = connectUnix(socket)) {
                    host.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII)));
                    assertTrue(driver.receive().isEmpty(), line);
                    assertEquals(null, readLine(host), "closed after " + line.strip());
                }
            }
            assertEquals(5, device.statistics().connectionsRefused());
            assertEquals(0, device.statistics().activeConnections());
        }
    }

    @Test
    void theGuestRefusingAHostConnectionClosesTheHostSocket() throws Exception {
        Path socket = dir.resolve("vm.vsock");
        try (VsockDevice device = device(VsockConfig.of(CID).withUnixSocket(socket));
                VsockTestDriver driver = driver(device);
                SocketChannel host = connectUnix(socket)) {
            host.write(ByteBuffer.wrap("CONNECT 99\n".getBytes(StandardCharsets.US_ASCII)));
            Packet request = driver.receive().getFirst();
            driver.send(fromGuest(99, request.srcPort(), VsockHeader.OP_RST));
            driver.receive();
            assertEquals(null, readLine(host));
        }
    }

    @Test
    void aStaleSocketIsReplacedButAFileOrALiveSocketIsNot() throws Exception {
        Path file = Files.writeString(dir.resolve("notes"), "keep me");
        IOException taken =
                assertThrows(IOException.class, () -> device(VsockConfig.of(CID).withUnixSocket(file)));
        assertTrue(taken.getMessage().contains("not a socket"), taken.getMessage());
        assertEquals("keep me", Files.readString(file));

        Path socket = dir.resolve("vm.vsock");
        try (VsockDevice live = device(VsockConfig.of(CID).withUnixSocket(socket))) {
            IOException inUse = assertThrows(
                    IOException.class, () -> device(VsockConfig.of(4).withUnixSocket(socket)));
            assertTrue(inUse.getMessage().contains("in use"), inUse.getMessage());
        }
        assertFalse(Files.exists(socket), "close() deletes the socket");
        try (ServerSocketChannel stale = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            stale.bind(UnixDomainSocketAddress.of(socket));
        } // closed without deleting: a socket nothing listens on
        try (VsockDevice replaced = device(VsockConfig.of(CID).withUnixSocket(socket))) {
            assertEquals(socket, replaced.unixSocket().orElseThrow());
        }
    }

    @Test
    void aJavaProgramListensAndConnectsThroughVsockHost() throws Exception {
        VsockHost host = new VsockHost();
        try (VsockListener listener = host.listen(7000);
                VsockDevice device = device(VsockConfig.of(CID).withHost(host));
                VsockTestDriver driver = driver(device)) {
            driver.send(fromGuest(2000, 7000, VsockHeader.OP_REQUEST));
            assertEquals(VsockHeader.OP_RESPONSE, driver.receive().getFirst().op());
            try (VsockChannel accepted = listener.accept(Duration.ofSeconds(5))) {
                assertEquals(7000, accepted.hostPort());
                assertEquals(2000, accepted.guestPort());
                accepted.write(ByteBuffer.wrap("from java".getBytes()));
                Packet data = driver.receive().getFirst();
                assertEquals("from java", new String(data.payload()));
                driver.send(fromGuest(2000, 7000, VsockHeader.OP_RW).withPayload("from guest".getBytes()));
                driver.receive();
                ByteBuffer in = ByteBuffer.allocate(64);
                accepted.read(in);
                assertEquals("from guest", new String(in.array(), 0, in.position()));
            }
            Packet closed = driver.receive().getFirst();
            assertEquals(VsockHeader.OP_SHUTDOWN, closed.op(), "closing the channel shuts the guest's side down");
            assertEquals(3, closed.flags());
            driver.send(fromGuest(2000, 7000, VsockHeader.OP_RST));
            driver.receive();
            assertEquals(0, device.statistics().activeConnections());

            CompletableFuture<VsockChannel> connecting = CompletableFuture.supplyAsync(() -> {
                try {
                    return host.connect(1234, Duration.ofSeconds(10));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Packet request = awaitRequest(driver);
            assertEquals(VsockHeader.OP_REQUEST, request.op());
            driver.send(fromGuest(1234, request.srcPort(), VsockHeader.OP_RESPONSE));
            driver.receive();
            try (VsockChannel channel = connecting.get()) {
                assertEquals(request.srcPort(), channel.hostPort());
            }

            CompletableFuture<Exception> refused = CompletableFuture.supplyAsync(() -> {
                try {
                    host.connect(4321, Duration.ofSeconds(10)).close();
                    return null;
                } catch (Exception e) {
                    return e;
                }
            });
            request = awaitRequest(driver);
            driver.send(fromGuest(4321, request.srcPort(), VsockHeader.OP_RST));
            driver.receive();
            assertTrue(refused.get() instanceof ConnectException, String.valueOf(refused.get()));
        }
    }

    /** Waits for the device's next REQUEST, skipping what else it sends (the close of an earlier connection). */
    private static Packet awaitRequest(VsockTestDriver driver) throws InterruptedException {
        for (int i = 0; i < 3000; i++) {
            for (Packet packet : driver.receive()) {
                if (packet.op() == VsockHeader.OP_REQUEST) {
                    return packet;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("the device sent the guest no request");
    }

    @Test
    void theDeviceSendsTheGuestNoMoreThanItsCreditAndAHostWriterThenStalls() throws Exception {
        Path socket = dir.resolve("vm.vsock");
        try (VsockDevice device = device(VsockConfig.of(CID).withUnixSocket(socket));
                VsockTestDriver driver = driver(device);
                ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(dir.resolve("vm.vsock_5000")));
            driver.send(Packet.of(CID, 1025, HOST, 5000, VsockHeader.OP_REQUEST).withCredit(10_000, 0));
            driver.receive();
            try (SocketChannel accepted = listener.accept()) {
                accepted.configureBlocking(false);
                byte[] sent = new byte[4 << 20];
                new SplittableRandom(1).nextBytes(sent);
                ByteBuffer out = ByteBuffer.wrap(sent);
                long received = 0;
                for (int round = 0; round < 20; round++) {
                    accepted.write(out);
                    for (Packet p : driver.receive()) {
                        received += p.payload().length;
                    }
                }
                assertEquals(10_000, received, "the guest granted 10,000 bytes and never read");
                assertTrue(out.hasRemaining(), "the host writer stalls once its socket is full");
                // Reading frees credit: the rest follows.
                driver.send(Packet.of(CID, 1025, HOST, 5000, VsockHeader.OP_CREDIT_UPDATE)
                        .withCredit(10_000, 10_000));
                for (Packet p : driver.receive()) {
                    received += p.payload().length;
                }
                assertEquals(20_000, received);
            }
        }
    }

    @Test
    void aHostThatStopsReadingStallsTheGuestAndMoreThanTheCreditResetsTheConnection() throws Exception {
        Path socket = dir.resolve("vm.vsock");
        try (VsockDevice device = device(VsockConfig.of(CID).withUnixSocket(socket));
                VsockTestDriver driver = driver(device);
                ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(dir.resolve("vm.vsock_5000")));
            driver.send(fromGuest(1025, 5000, VsockHeader.OP_REQUEST));
            driver.receive();
            try (SocketChannel accepted = listener.accept()) {
                byte[] chunk = new byte[60_000];
                long sent = 0;
                int lastFwdCnt = 0;
                int creditUpdates = 0;
                // The guest sends within the credit it was told, as Linux does, until the credit is used up.
                while (true) {
                    long credit = VsockDevice.BUFFER_SIZE - (sent - Integer.toUnsignedLong(lastFwdCnt));
                    if (credit <= 0) {
                        break;
                    }
                    int n = (int) Math.min(chunk.length, credit);
                    driver.send(
                            fromGuest(1025, 5000, VsockHeader.OP_RW).withPayload(java.util.Arrays.copyOf(chunk, n)));
                    sent += n;
                    for (Packet p : driver.receive()) {
                        assertEquals(VsockHeader.OP_CREDIT_UPDATE, p.op(), p.toString());
                        lastFwdCnt = p.fwdCnt();
                        creditUpdates++;
                    }
                    if (sent > 64L << 20) {
                        break;
                    }
                }
                assertTrue(creditUpdates > 0, "the host's socket took bytes, and the guest heard of it");
                assertTrue(sent < 64L << 20, "a host that never reads must stop the guest: sent " + sent);
                assertEquals(0, device.statistics().creditViolations());
                // One byte past the credit is a violation.
                driver.send(fromGuest(1025, 5000, VsockHeader.OP_RW).withPayload(new byte[1]));
                Packet reset = driver.receive().getFirst();
                assertEquals(VsockHeader.OP_RST, reset.op());
                assertEquals(1, device.statistics().creditViolations());
                assertEquals(0, device.statistics().activeConnections());
            }
        }
    }
}
