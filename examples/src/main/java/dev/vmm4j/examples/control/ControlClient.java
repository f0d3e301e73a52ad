// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.control;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/** Sends one {@link ControlProtocol} request to a VM's control socket and returns its answer. */
public final class ControlClient {
    private ControlClient() {}

    /**
     * Sends {@code request} to the socket at {@code socket}. {@return the answer line, without its newline}
     *
     * @throws IOException if there is no VM there, or it does not answer within {@code timeout}
     */
    public static String send(Path socket, ControlProtocol.Request request, Duration timeout) throws IOException {
        Objects.requireNonNull(socket, "socket");
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(timeout, "timeout");
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            try {
                channel.connect(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                throw new IOException("no VM listens on " + socket + " (" + e.getMessage() + ")", e);
            }
            ByteBuffer out =
                    ByteBuffer.wrap((ControlProtocol.format(request) + "\n").getBytes(StandardCharsets.US_ASCII));
            while (out.hasRemaining()) {
                channel.write(out);
            }
            channel.configureBlocking(false);
            ByteBuffer in = ByteBuffer.allocate(ControlProtocol.MAX_LINE);
            long deadline = System.nanoTime() + timeout.toNanos();
            try (Selector selector = Selector.open()) {
                channel.register(selector, SelectionKey.OP_READ);
                while (true) {
                    for (int i = 0; i < in.position(); i++) {
                        if (in.get(i) == '\n') {
                            return new String(in.array(), 0, i, StandardCharsets.US_ASCII);
                        }
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0 || !in.hasRemaining()) {
                        throw new IOException(
                                "the VM on " + socket + " did not answer within " + timeout.toSeconds() + " s");
                    }
                    selector.select(Math.max(1, left / 1_000_000));
                    selector.selectedKeys().clear();
                    if (channel.read(in) < 0) {
                        throw new IOException("the VM on " + socket + " closed the connection without answering");
                    }
                }
            }
        }
    }
}
