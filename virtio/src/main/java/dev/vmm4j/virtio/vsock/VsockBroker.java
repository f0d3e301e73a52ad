// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.vmm.jail.FdSocket;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadFactory;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The VMM's half of a vsock device that runs in a device process: the VMM, not the device process, owns the unix
 * socket at the device's path and makes the connections to {@code <path>_<port>} for the guest, so that the device
 * process needs no file system, may create no socket and can reach no socket but those. The device process asks for a
 * connection with {@code connect <port>} over a socket pair; a thread here answers {@code ok} with the connected fd, or
 * {@code refused <errno>}.
 *
 * <p><b>Ownership:</b> the broker owns the listening socket (and deletes its path when closed, if the socket there is
 * still its own) and its end of the socket pair; {@link #listener()} and {@link #deviceEnd()} are for the recipe,
 * which passes duplicates to the device process.
 */
public final class VsockBroker implements AutoCloseable {
    /** How long the device process waits for a connection the VMM makes for it. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);

    private static final Pattern REQUEST = Pattern.compile("connect (\\d{1,10})");
    private static final System.Logger LOG = System.getLogger(VsockBroker.class.getName());

    private final UnixSocketBridge bridge;
    private final FdSocket vmmEnd;
    private final FdSocket deviceEnd;

    private VsockBroker(UnixSocketBridge bridge, FdSocket vmmEnd, FdSocket deviceEnd) {
        this.bridge = bridge;
        this.vmmEnd = vmmEnd;
        this.deviceEnd = deviceEnd;
    }

    /**
     * {@return a broker listening at {@code socket}, answering the device process on a thread from {@code threads}}
     *
     * @param socket the unix socket's path, as {@link VsockConfig#withUnixSocket} takes it; the broker makes the
     *     socket now and deletes it when closed
     * @param threads makes the one thread that answers the device process, started now; it ends when the device
     *     process hangs up or the broker closes
     * @throws IOException if the socket cannot be made (see {@link VsockConfig#withUnixSocket})
     */
    public static VsockBroker open(Path socket, ThreadFactory threads) throws IOException {
        Objects.requireNonNull(threads, "threads");
        UnixSocketBridge bridge = UnixSocketBridge.open(Objects.requireNonNull(socket, "socket"));
        FdSocket[] pair = FdSocket.pair();
        VsockBroker broker = new VsockBroker(bridge, pair[0], pair[1]);
        threads.newThread(broker::serve).start();
        return broker;
    }

    /** {@return the listening socket's fd, which stays the broker's} */
    public int listener() {
        return bridge.listenerFd();
    }

    /** {@return the device process's end of the broker's socket pair, which stays the broker's} */
    public FdSocket deviceEnd() {
        return deviceEnd;
    }

    /** The broker's thread: answers connection requests until the device process hangs up or the broker closes. */
    private void serve() {
        Thread.currentThread().setName("vsock broker " + bridge.path());
        try {
            while (true) {
                Optional<FdSocket.Message> request = vmmEnd.receive(Duration.ofDays(365));
                if (request.isEmpty()) {
                    return;
                }
                request.get().fds().forEach(OwnedFd::close); // a device process sends none
                answer(new String(request.get().bytes(), StandardCharsets.US_ASCII));
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "vsock broker for " + bridge.path() + " ends: " + e.getMessage());
        }
    }

    private void answer(String request) throws IOException {
        Matcher matcher = REQUEST.matcher(request);
        long port = matcher.matches() ? Long.parseLong(matcher.group(1)) : -1;
        if (port < 0 || port > 0xFFFF_FFFFL) {
            // Only a broken or hostile device process asks so: refuse, and connect to nothing else.
            vmmEnd.send(("refused " + LinuxHeaders.EINVAL()).getBytes(StandardCharsets.US_ASCII), List.of());
            return;
        }
        int fd = bridge.connectToHostPort((int) port);
        if (fd < 0) {
            vmmEnd.send(("refused " + -fd).getBytes(StandardCharsets.US_ASCII), List.of());
            return;
        }
        try {
            vmmEnd.send("ok".getBytes(StandardCharsets.US_ASCII), List.of(fd));
        } finally {
            Libc.close(fd); // the device process has its own now
        }
    }

    /**
     * The device process's side: asks the VMM over {@code broker} for a connection to host port {@code port}.
     * {@return the connected non-blocking fd, or {@code -errno}: the VMM's refusal, or {@code -ETIMEDOUT} if it does not
     * answer in time}
     */
    static int connectThrough(FdSocket broker, int port) {
        try {
            broker.send(("connect " + Integer.toUnsignedString(port)).getBytes(StandardCharsets.US_ASCII), List.of());
            Optional<FdSocket.Message> answer = broker.receive(CONNECT_TIMEOUT);
            if (answer.isEmpty()) {
                return -LinuxHeaders.ECONNREFUSED(); // the VMM is gone
            }
            String text = new String(answer.get().bytes(), StandardCharsets.US_ASCII);
            List<OwnedFd> fds = answer.get().fds();
            if (text.equals("ok") && fds.size() == 1) {
                return fds.getFirst().release();
            }
            fds.forEach(OwnedFd::close);
            if (text.startsWith("refused ")) {
                try {
                    int errno = Integer.parseInt(text.substring("refused ".length()));
                    return errno > 0 ? -errno : -LinuxHeaders.ECONNREFUSED();
                } catch (NumberFormatException e) {
                    return -LinuxHeaders.ECONNREFUSED();
                }
            }
            return -LinuxHeaders.ECONNREFUSED();
        } catch (IOException e) {
            return -LinuxHeaders.ETIMEDOUT();
        }
    }

    /** Stops answering, closes the listening socket and deletes its path if it is still the broker's. Idempotent. */
    @Override
    public void close() {
        vmmEnd.shutdown(); // wakes the thread's receive, which then ends
        vmmEnd.close();
        deviceEnd.close();
        bridge.close();
    }

    @Override
    public String toString() {
        return "VsockBroker[" + bridge + "]";
    }
}
