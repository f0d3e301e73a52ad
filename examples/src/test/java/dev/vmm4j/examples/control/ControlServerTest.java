// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The control socket against well-behaved and hostile clients, with a fake VM behind it. */
class ControlServerTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    @TempDir
    Path dir;

    private Path socket;
    private ControlServer server;
    private final FakeVm vm = new FakeVm();

    /** Records what it was asked to do. */
    static final class FakeVm implements VmControl {
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Override
        public void exit() {
            calls.add("exit");
        }

        @Override
        public void balloon(long bytes) {
            if (bytes > (1L << 30)) {
                throw new IllegalStateException("the guest has 1 GiB");
            }
            calls.add("balloon " + bytes);
        }

        @Override
        public String status() {
            return "state=running memory=1073741824";
        }
    }

    @BeforeEach
    void start() throws IOException {
        socket = dir.resolve("vm.sock");
        server = ControlServer.start(socket, vm);
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
    }

    private SocketChannel connect() throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        return channel;
    }

    private static void send(SocketChannel channel, String text) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.ISO_8859_1));
        while (bytes.hasRemaining()) {
            channel.write(bytes);
        }
    }

    /** Reads until {@code lines} newlines or end of stream; returns the text. */
    private static String receive(SocketChannel channel, int lines) throws IOException {
        StringBuilder text = new StringBuilder();
        ByteBuffer buffer = ByteBuffer.allocate(1024);
        while (text.chars().filter(c -> c == '\n').count() < lines) {
            buffer.clear();
            if (channel.read(buffer) < 0) {
                break;
            }
            text.append(new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII));
        }
        return text.toString();
    }

    @Test
    void requestsAreAnswered() throws IOException {
        assertEquals(
                "ok state=running memory=1073741824",
                ControlClient.send(socket, new ControlProtocol.Status(), TIMEOUT));
        assertEquals("ok", ControlClient.send(socket, new ControlProtocol.BalloonAdjust(1 << 20), TIMEOUT));
        assertEquals(
                "error the guest has 1 GiB",
                ControlClient.send(socket, new ControlProtocol.BalloonAdjust(2L << 30), TIMEOUT));
        assertEquals("ok", ControlClient.send(socket, new ControlProtocol.Exit(), TIMEOUT));
        assertEquals(List.of("balloon 1048576", "exit"), vm.calls);
    }

    @Test
    void theSocketIsOwnerOnly() throws IOException {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(socket), files.toList(), "the private directory it was bound in is gone");
        }
    }

    @Test
    void pipelinedRequestsGetAnswersInOrder() throws IOException {
        try (SocketChannel channel = connect()) {
            send(channel, "status\nballoon 4096\nexit\n");
            assertEquals("ok state=running memory=1073741824\nok\nok\n", receive(channel, 3));
        }
        assertEquals(List.of("balloon 4096", "exit"), vm.calls);
    }

    @Test
    void malformedRequestsGetErrorsAndTheConnectionStaysUsable() throws IOException {
        try (SocketChannel channel = connect()) {
            send(channel, "reboot\nballoon\nballoon -5\nballoon lots\nexit now\n\nstatus\n");
            String answers = receive(channel, 7);
            assertEquals("""
                    error unknown request "reboot": expected exit, balloon BYTES or status
                    error expected "balloon BYTES", got 1 words
                    error balloon needs a size in bytes (a decimal number >= 0), not "-5"
                    error balloon needs a size in bytes (a decimal number >= 0), not "lots"
                    error expected "exit", got 2 words
                    error unknown request "": expected exit, balloon BYTES or status
                    ok state=running memory=1073741824
                    """, answers);
        }
        assertEquals(List.of(), vm.calls, "nothing reached the VM");
    }

    @Test
    void anOversizedRequestIsRefusedAndDisconnected() throws IOException {
        try (SocketChannel channel = connect()) {
            send(channel, "balloon " + "9".repeat(1000) + "\n");
            assertEquals("error request longer than 256 bytes\n", receive(channel, 2));
        }
        assertEquals(List.of(), vm.calls);
    }

    @Test
    void binaryGarbageIsRefusedAndDisconnected() throws IOException {
        try (SocketChannel channel = connect()) {
            send(channel, "st\u0000tus\u00ff\n");
            assertEquals("error requests are printable ASCII\n", receive(channel, 2));
        }
    }

    @Test
    void aSilentClientBlocksNobody() throws IOException {
        try (SocketChannel silent = connect();
                SocketChannel halfLine = connect()) {
            send(halfLine, "bal"); // and never the rest
            assertEquals("ok", ControlClient.send(socket, new ControlProtocol.Exit(), TIMEOUT));
            assertTrue(silent.isConnected());
        }
    }

    @Test
    void tooManyClientsAreTurnedAway() throws IOException {
        List<SocketChannel> clients = new ArrayList<>();
        try {
            for (int i = 0; i < ControlServer.MAX_CLIENTS; i++) {
                clients.add(connect());
            }
            // Make sure the server accepted them all before the next one comes.
            assertEquals("ok state=running memory=1073741824\n", roundTrip(clients.getLast(), "status\n"));
            try (SocketChannel extra = connect()) {
                assertEquals("error too many clients (32); try again later\n", receive(extra, 2));
            }
        } finally {
            for (SocketChannel client : clients) {
                client.close();
            }
        }
        // The server sees the hang-ups asynchronously: a newcomer may be turned away until it has.
        String answer = "";
        for (int attempt = 0; attempt < 100 && !answer.startsWith("ok"); attempt++) {
            answer = ControlClient.send(socket, new ControlProtocol.Status(), TIMEOUT);
            if (!answer.startsWith("ok")) {
                assertEquals("error too many clients (32); try again later", answer);
                Thread.onSpinWait();
            }
        }
        assertTrue(answer.startsWith("ok"), "closed clients free their places: " + answer);
    }

    private static String roundTrip(SocketChannel channel, String request) throws IOException {
        send(channel, request);
        return receive(channel, 1);
    }

    @Test
    void aClientThatNeverReadsIsDisconnected() throws IOException {
        try (SocketChannel greedy = connect()) {
            String request = "status\n".repeat(30);
            boolean disconnected = false;
            for (int i = 0; i < 2000 && !disconnected; i++) {
                try {
                    send(greedy, request);
                } catch (IOException e) {
                    disconnected = true; // broken pipe: the server gave up on us
                }
            }
            assertTrue(disconnected, "the server dropped a client that let answers pile up");
        }
        assertEquals("ok", ControlClient.send(socket, new ControlProtocol.Exit(), TIMEOUT));
    }

    @Test
    void aLiveSocketIsNotTakenAStaleOneIsReplaced() throws IOException {
        IOException inUse = assertThrows(IOException.class, () -> ControlServer.start(socket, vm));
        assertTrue(inUse.getMessage().contains("is in use by a running VM"), inUse.getMessage());
        server.close();
        assertFalse(Files.exists(socket), "close removes the socket file");
        // A socket file nobody listens on, as a crashed VM leaves it.
        try (var stale = java.nio.channels.ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            stale.bind(UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket));
        server = ControlServer.start(socket, vm);
        assertEquals("ok", ControlClient.send(socket, new ControlProtocol.Exit(), TIMEOUT));
    }

    @Test
    void aRegularFileIsNeverReplaced() throws IOException {
        Path file = Files.writeString(dir.resolve("notes.txt"), "keep me");
        assertThrows(FileAlreadyExistsException.class, () -> ControlServer.start(file, vm));
        assertEquals("keep me", Files.readString(file));
    }
}
