// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.control;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Iterator;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;

/**
 * The control socket: a Unix stream socket that speaks {@link ControlProtocol} to any number of clients at once, on
 * one thread ({@code control-socket}) with a selector, so a client that connects and never sends, or never reads its
 * answers, holds up nobody else.
 *
 * <p>The socket file is owner-only (0600) from the moment it appears: it is bound in a fresh owner-only directory,
 * given its mode there, and renamed into place. A socket file left behind by a VM that died is replaced; one a live VM
 * listens on is not. {@link #close()} removes the file.
 *
 * <p>Hostile clients: a line longer than {@link ControlProtocol#MAX_LINE} or with bytes that are not printable ASCII
 * gets an error and is disconnected; more than {@link #MAX_CLIENTS} at once are turned away with an error; a client
 * that lets {@link #MAX_PENDING_OUTPUT} bytes of answers pile up unread is disconnected. None of it reaches the VM.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class ControlServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ControlServer.class.getName());
    /** Clients served at once. */
    public static final int MAX_CLIENTS = 32;
    /** Unread answer bytes a client may let pile up. */
    public static final int MAX_PENDING_OUTPUT = 16 * 1024;

    private final Path path;
    private final ServerSocketChannel server;
    private final Selector selector;
    private final VmControl control;
    private final Thread thread;
    private volatile boolean closing;
    private int clients;

    /** One connection's partial request and unsent answers. */
    private static final class Client {
        final ByteBuffer in = ByteBuffer.allocate(ControlProtocol.MAX_LINE);
        ByteBuffer out = ByteBuffer.allocate(0);
        boolean closeAfterWrite;
        /** After the last answer: input is read and dropped until the client hangs up, so it gets the answer. */
        long drained = -1;
    }

    private ControlServer(
            Path path, ServerSocketChannel server, Selector selector, VmControl control, ThreadFactory threads) {
        this.path = path;
        this.server = server;
        this.selector = selector;
        this.control = control;
        this.thread = Objects.requireNonNull(threads.newThread(this::serve), "the factory made no thread");
        thread.setName("control-socket");
    }

    /**
     * Creates the socket at {@code path} and serves {@code control} on it.
     *
     * @throws IOException if {@code path} is taken (by a live VM's socket, or by a file that is not a socket), or its
     *     directory cannot hold it; the message says which
     */
    public static ControlServer start(Path path, VmControl control) throws IOException {
        return start(path, control, Thread.ofPlatform().daemon().factory());
    }

    /**
     * Creates the socket at {@code path} and serves {@code control} on it, on a thread {@code threads} makes (for
     * simple-vmm, one whose death ends the VM: {@code body -> vm.newThread("control-socket", body)}).
     *
     * @throws IOException as {@link #start(Path, VmControl)} says
     */
    public static ControlServer start(Path path, VmControl control, ThreadFactory threads) throws IOException {
        Objects.requireNonNull(control, "control");
        Objects.requireNonNull(threads, "threads");
        Path socket = path.toAbsolutePath();
        removeIfStale(socket);
        Path directory = socket.getParent();
        Path privateDirectory = Files.createTempDirectory(
                directory,
                ".vmm4j-socket-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path bound = privateDirectory.resolve("control.sock");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        Selector selector = null;
        try {
            server.bind(UnixDomainSocketAddress.of(bound));
            Files.setPosixFilePermissions(bound, PosixFilePermissions.fromString("rw-------"));
            Files.move(bound, socket, StandardCopyOption.ATOMIC_MOVE);
            server.configureBlocking(false);
            selector = Selector.open();
            server.register(selector, SelectionKey.OP_ACCEPT);
        } catch (IOException | RuntimeException e) {
            server.close();
            if (selector != null) {
                selector.close();
            }
            Files.deleteIfExists(bound);
            throw e;
        } finally {
            Files.deleteIfExists(privateDirectory);
        }
        ControlServer started = new ControlServer(socket, server, selector, control, threads);
        started.thread.start();
        return started;
    }

    @SuppressWarnings("try") // the probe only connects: whether it can is the answer
    private static void removeIfStale(Path socket) throws IOException {
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                .isOther()) {
            throw new FileAlreadyExistsException(
                    socket.toString(), null, "exists and is not a socket; choose another path");
        }
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            throw new IOException(
                    "control socket " + socket + " is in use by a running VM; stop it or choose another path");
        } catch (ConnectException stale) {
            Files.delete(socket); // nobody listens: a VM that died left it
        }
    }

    /** {@return the socket's path} */
    public Path path() {
        return path;
    }

    private void serve() {
        while (!closing) {
            try {
                selector.select();
                Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
                while (keys.hasNext()) {
                    SelectionKey key = keys.next();
                    keys.remove();
                    if (!key.isValid()) {
                        continue;
                    }
                    if (key.isAcceptable()) {
                        accept();
                    } else {
                        serveClient(key);
                    }
                }
            } catch (IOException | RuntimeException e) {
                if (!closing) {
                    LOG.log(System.Logger.Level.ERROR, "control socket " + path + " failed; it keeps serving", e);
                }
            }
        }
    }

    private void accept() throws IOException {
        SocketChannel channel = server.accept();
        if (channel == null) {
            return;
        }
        channel.configureBlocking(false);
        if (clients >= MAX_CLIENTS) {
            channel.write(line("error too many clients (" + MAX_CLIENTS + "); try again later"));
            channel.close();
            return;
        }
        clients++;
        channel.register(selector, SelectionKey.OP_READ, new Client());
    }

    private void serveClient(SelectionKey key) {
        SocketChannel channel = (SocketChannel) key.channel();
        Client client = (Client) key.attachment();
        try {
            if (client.drained >= 0) {
                drain(key, client);
                return;
            }
            if (key.isReadable() && !client.closeAfterWrite) {
                if (channel.read(client.in) < 0) {
                    disconnect(key);
                    return;
                }
                handleLines(client);
            }
            flush(key, client);
        } catch (IOException e) {
            disconnect(key); // the client went away mid-answer
        }
    }

    /** Answers every complete line in the client's buffer. */
    private void handleLines(Client client) {
        ByteBuffer in = client.in;
        while (!client.closeAfterWrite) {
            int newline = -1;
            for (int i = 0; i < in.position(); i++) {
                if (in.get(i) == '\n') {
                    newline = i;
                    break;
                }
            }
            if (newline < 0) {
                if (!in.hasRemaining()) {
                    reply(client, "error request longer than " + ControlProtocol.MAX_LINE + " bytes");
                    client.closeAfterWrite = true;
                }
                return;
            }
            byte[] bytes = new byte[newline];
            in.get(0, bytes);
            in.flip().position(newline + 1);
            in.compact(); // keep what follows the line
            String request = new String(bytes, StandardCharsets.US_ASCII);
            if (!request.chars().allMatch(ControlProtocol::isPrintable)) {
                reply(client, "error requests are printable ASCII");
                client.closeAfterWrite = true;
                return;
            }
            reply(client, answer(request));
        }
    }

    private String answer(String line) {
        try {
            return switch (ControlProtocol.parse(line)) {
                case ControlProtocol.Exit() -> {
                    control.exit();
                    yield "ok";
                }
                case ControlProtocol.BalloonAdjust(long bytes) -> {
                    control.balloon(bytes);
                    yield "ok";
                }
                case ControlProtocol.Status() -> "ok " + control.status();
            };
        } catch (IllegalArgumentException | IllegalStateException e) {
            return "error " + e.getMessage();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "control request \"" + line + "\" failed", e);
            return "error the VM could not do it: " + e;
        }
    }

    private static void reply(Client client, String text) {
        ByteBuffer answer = line(text);
        ByteBuffer joined = ByteBuffer.allocate(client.out.remaining() + answer.remaining());
        joined.put(client.out).put(answer).flip();
        client.out = joined;
    }

    private void flush(SelectionKey key, Client client) throws IOException {
        SocketChannel channel = (SocketChannel) key.channel();
        channel.write(client.out);
        if (client.out.remaining() > MAX_PENDING_OUTPUT) {
            disconnect(key); // it sends and never reads
            return;
        }
        if (!client.out.hasRemaining() && client.closeAfterWrite) {
            // Closing with unread input would reset the connection and could lose the answer: end our side, then
            // read and drop the rest until the client hangs up.
            channel.shutdownOutput();
            client.drained = 0;
            key.interestOps(SelectionKey.OP_READ);
            return;
        }
        key.interestOps(
                client.out.hasRemaining()
                        ? SelectionKey.OP_WRITE | (client.closeAfterWrite ? 0 : SelectionKey.OP_READ)
                        : SelectionKey.OP_READ);
    }

    private void drain(SelectionKey key, Client client) throws IOException {
        client.in.clear();
        int read = ((SocketChannel) key.channel()).read(client.in);
        client.drained += Math.max(read, 0);
        if (read < 0 || client.drained > MAX_PENDING_OUTPUT) {
            disconnect(key); // hung up, or keeps sending: enough
        }
    }

    private void disconnect(SelectionKey key) {
        key.cancel();
        try {
            key.channel().close();
        } catch (IOException e) {
            // closing a socket the peer already dropped: nothing to do
        }
        clients--;
    }

    private static ByteBuffer line(String text) {
        return ByteBuffer.wrap((text.replace('\n', ' ') + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    /** Stops serving, disconnects every client and removes the socket file. Idempotent. */
    @Override
    public void close() throws IOException {
        if (closing) {
            return;
        }
        closing = true;
        selector.wakeup();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (SelectionKey key : selector.keys()) {
            key.channel().close();
        }
        selector.close();
        server.close();
        Files.deleteIfExists(path);
    }

    @Override
    public String toString() {
        return "ControlServer[" + path + "]";
    }
}
