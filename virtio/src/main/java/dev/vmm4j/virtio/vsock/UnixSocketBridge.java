// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import dev.vmm4j.kvm.bindings.Errno;
import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.function.IntUnaryOperator;

/**
 * The host end of the userspace vsock backend, with Firecracker's conventions so that existing tools work: the device
 * listens on a unix socket at {@link #path()}, where a host process connects and writes {@code CONNECT <port>\n} to
 * reach guest port {@code port} (and is answered {@code OK <host port>\n}); a guest connection to host port {@code P}
 * goes to the unix socket {@code <path>_<P>} if something listens there.
 *
 * <p>In a device process the bridge is {@linkplain #adopt adopted}: the VMM made the listening socket and passed it
 * over, makes the {@code <path>_<P>} connections for it ({@link VsockBroker}), and deletes the path itself.
 *
 * <p><b>Ownership:</b> owns the listening socket and, unless adopted, its path: {@link #close()} closes the one and
 * deletes the other.
 *
 * <p><b>Thread safety:</b> {@link #connectToHostPort} is safe from any thread.
 */
final class UnixSocketBridge implements AutoCloseable {
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private final Path path;
    private final int listenerFd;
    /** The socket file's identity, to delete only our own; null when adopted (the VMM deletes it). */
    private final Object socketFile;

    private final IntUnaryOperator connector;
    private boolean closed;

    private UnixSocketBridge(Path path, int listenerFd, Object socketFile, IntUnaryOperator connector) {
        this.path = path;
        this.listenerFd = listenerFd;
        this.socketFile = socketFile;
        this.connector = connector;
    }

    /**
     * {@return a bridge over {@code listener}, a socket listening at {@code path} that the VMM made, whose
     * {@code <path>_<P>} connections {@code connector} makes (port to fd, or {@code -errno})} The bridge owns the
     * listener; the path stays the VMM's.
     */
    static UnixSocketBridge adopt(Path path, OwnedFd listener, IntUnaryOperator connector) {
        return new UnixSocketBridge(path, listener.release(), null, connector);
    }

    /**
     * {@return a bridge listening at {@code path}} A socket left there by a VMM that is gone (nothing accepts on it)
     * is replaced; anything else at the path is left alone and refused.
     *
     * @throws IOException if the path is taken by a file, or by a socket something still listens on, or cannot be bound
     */
    static UnixSocketBridge open(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        removeStaleSocket(path);
        int fd =
                Libc.socket(LinuxHeaders.AF_UNIX(), LinuxHeaders.SOCK_STREAM() | LinuxHeaders.SOCK_NONBLOCK(), "vsock");
        try {
            Libc.bindAndListen(fd, path);
        } catch (NativeCallException | IllegalArgumentException e) {
            Libc.close(fd);
            throw new IOException(
                    "the vsock device cannot listen on the unix socket " + path + ": " + e.getMessage(), e);
        }
        try {
            return new UnixSocketBridge(path, fd, identity(path), null);
        } catch (IOException e) {
            Libc.close(fd);
            throw e;
        }
    }

    private static void removeStaleSocket(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new IOException("the vsock socket path " + path + " is taken by something that is not a socket;"
                    + " choose another path or remove it");
        }
        // Non-blocking, so that a live listener with a full backlog answers EAGAIN rather than hold the build up.
        int probe =
                Libc.socket(LinuxHeaders.AF_UNIX(), LinuxHeaders.SOCK_STREAM() | LinuxHeaders.SOCK_NONBLOCK(), "vsock");
        int result;
        try {
            result = Libc.connect(probe, path);
        } finally {
            Libc.close(probe);
        }
        if (result != -LinuxHeaders.ECONNREFUSED()) {
            throw new IOException("the vsock socket " + path + " is "
                    + (result == 0 || result == -LinuxHeaders.EAGAIN()
                            ? "in use: something listens on it (another VMM?)"
                            : "not one this user can check (" + Errno.describe(-result) + ")")
                    + "; choose another path");
        }
        Files.delete(path); // refused: nothing listens, a socket left behind by a VMM that is gone
    }

    /** {@return the device and inode of the file at {@code path}, to tell our socket from a later one there} */
    private static Object identity(Path path) throws IOException {
        return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                .fileKey();
    }

    Path path() {
        return path;
    }

    int listenerFd() {
        return listenerFd;
    }

    /**
     * Connects a non-blocking unix stream socket to {@code <path>_<port>}. {@return its fd, or {@code -errno} if
     * nothing listens there or its backlog is full}
     */
    int connectToHostPort(int port) {
        if (connector != null) {
            return connector.applyAsInt(port);
        }
        Path target = Path.of(path + "_" + Integer.toUnsignedString(port));
        int fd;
        try {
            fd = Libc.socket(
                    LinuxHeaders.AF_UNIX(), LinuxHeaders.SOCK_STREAM() | LinuxHeaders.SOCK_NONBLOCK(), "vsock");
        } catch (NativeCallException e) {
            return -e.errno(); // out of fds: the guest's connection is refused, the VM goes on
        }
        int result;
        try {
            result = Libc.connect(fd, target);
        } catch (IllegalArgumentException e) {
            result = -LinuxHeaders.ENAMETOOLONG();
        }
        if (result < 0) {
            Libc.close(fd);
            return result;
        }
        return fd;
    }

    /**
     * {@return the guest port a complete {@code CONNECT <port>} line names (the newline already taken off), or -1 if it
     * is anything else} The port is decimal, 0 to 4294967295, as Firecracker takes it.
     */
    static long parseConnectLine(byte[] line, int length) {
        String text = new String(line, 0, length, StandardCharsets.US_ASCII);
        if (!text.startsWith("CONNECT ")) {
            return -1;
        }
        String digits = text.substring("CONNECT ".length()).strip();
        if (digits.isEmpty() || digits.length() > 10 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return -1;
        }
        long port = Long.parseLong(digits);
        return port <= 0xFFFF_FFFFL ? port : -1;
    }

    /** Closes the listening socket and deletes its path, if the socket there is still this one. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Libc.close(listenerFd);
        if (socketFile == null) {
            return; // adopted: the path is the VMM's to delete
        }
        try {
            if (Files.exists(path, LinkOption.NOFOLLOW_LINKS) && socketFile.equals(identity(path))) {
                Files.delete(path); // ours still: not a socket someone else made there since
            }
        } catch (IOException e) {
            System.getLogger(UnixSocketBridge.class.getName())
                    .log(System.Logger.Level.WARNING, "could not delete the vsock socket " + path + ": " + e);
        }
    }

    @Override
    public String toString() {
        return "unix socket " + path;
    }
}
