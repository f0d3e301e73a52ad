// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.kvm.bindings.cmsghdr;
import dev.vmm4j.kvm.bindings.iovec;
import dev.vmm4j.kvm.bindings.msghdr;
import dev.vmm4j.kvm.bindings.pollfd;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One end of a unix {@code SOCK_SEQPACKET} connection whose messages may carry file descriptors ({@code SCM_RIGHTS}),
 * which the JDK's channels cannot pass. A device process gets its guest memory, eventfds and device files this way.
 *
 * <p><b>Ownership:</b> the socket owns its fd; {@link #close()} closes it. Fds given to {@link #send} stay the
 * caller's (the kernel duplicates them into the peer); fds that {@link #receive} returns are the caller's to close.
 *
 * <p><b>Thread safety:</b> a message is sent or received whole, but callers that share an end must take turns.
 */
public final class FdSocket implements AutoCloseable {
    /** The most fds one message carries (the kernel's {@code SCM_MAX_FD}). */
    public static final int MAX_FDS = 253;

    /** The largest message {@link #receive} takes. */
    public static final int MAX_MESSAGE = 64 * 1024;

    /**
     * {@code recvmsg} makes each received fd close-on-exec as it installs it, from {@code <linux/socket.h>} (which the
     * generated bindings do not take).
     */
    private static final int MSG_CMSG_CLOEXEC = 0x4000_0000;

    /**
     * A message: its bytes and the fds that came with it, which the receiver owns.
     *
     * @param bytes the message's bytes (a received message has at most {@link #MAX_MESSAGE}); copied, here and by the
     *     accessor
     * @param fds the fds that came with it, in the order sent, each already close-on-exec; the list is copied, and
     *     whoever has the message closes each fd
     */
    public record Message(byte[] bytes, List<OwnedFd> fds) {
        /** Copies the bytes and the list. */
        public Message {
            bytes = bytes.clone();
            fds = List.copyOf(fds);
        }

        /** {@return the message's bytes (a copy)} */
        @Override
        public byte[] bytes() {
            return bytes.clone();
        }
    }

    private final OwnedFd fd;

    private FdSocket(int fd, String what) {
        this.fd = new OwnedFd(fd, what);
    }

    /** {@return a connected pair of ends} */
    public static FdSocket[] pair() {
        int[] fds = Libc.socketpair(LinuxHeaders.SOCK_SEQPACKET());
        return new FdSocket[] {new FdSocket(fds[0], "seqpacket socket"), new FdSocket(fds[1], "seqpacket socket")};
    }

    /**
     * {@return an end over {@code fd}, which it owns from now on}
     *
     * @param fd a connected {@code SOCK_SEQPACKET} unix socket; not checked
     * @param what describes the socket in errors, such as {@code "socket to the device process of virtio-blk-0"}
     */
    public static FdSocket adopt(int fd, String what) {
        return new FdSocket(fd, what);
    }

    /**
     * {@return an end connected to the listening socket at {@code path}}
     *
     * @param path the file of a listening {@code SOCK_SEQPACKET} unix socket
     * @throws IOException if nothing listens there
     */
    public static FdSocket connect(Path path) throws IOException {
        int fd = Libc.socket(LinuxHeaders.AF_UNIX(), LinuxHeaders.SOCK_SEQPACKET(), "a device process's connection");
        int result = Libc.connect(fd, path);
        if (result < 0) {
            Libc.close(fd);
            throw new IOException(
                    "cannot connect to " + path + ": " + new NativeCallException("connect", -result).getMessage());
        }
        return new FdSocket(fd, "seqpacket socket to " + path);
    }

    /** {@return the socket's fd, for polling; it stays owned by this object} */
    public int fd() {
        return fd.get();
    }

    /**
     * Sends {@code bytes} with {@code fds} as one message, waiting for room.
     *
     * @param bytes the message, 1 to {@link #MAX_MESSAGE} bytes; copied before it is sent
     * @param fds open fds to pass, at most {@link #MAX_FDS}; they stay the caller's (the peer gets duplicates)
     * @throws IOException if the peer is gone, or sending fails otherwise; the message names the errno
     * @throws IllegalArgumentException if there are more than {@link #MAX_FDS} fds, or the message is empty or longer
     *     than {@link #MAX_MESSAGE} bytes
     */
    public void send(byte[] bytes, List<Integer> fds) throws IOException {
        Objects.requireNonNull(bytes, "bytes");
        if (fds.size() > MAX_FDS || bytes.length > MAX_MESSAGE || bytes.length == 0) {
            throw new IllegalArgumentException("a message has 1 to " + MAX_MESSAGE + " bytes and at most " + MAX_FDS
                    + " fds, not " + bytes.length + " bytes and " + fds.size() + " fds");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment message = arena.allocate(msghdr.layout());
            MemorySegment data = arena.allocateFrom(ValueLayout.JAVA_BYTE, bytes);
            MemorySegment vector = arena.allocate(iovec.layout());
            iovec.iov_base(vector, data);
            iovec.iov_len(vector, bytes.length);
            msghdr.msg_iov(message, vector);
            msghdr.msg_iovlen(message, 1);
            if (!fds.isEmpty()) {
                long space = controlSpace(fds.size());
                MemorySegment control = arena.allocate(space, 8);
                cmsghdr.cmsg_len(control, cmsghdr.layout().byteSize() + 4L * fds.size());
                cmsghdr.cmsg_level(control, LinuxHeaders.SOL_SOCKET());
                cmsghdr.cmsg_type(control, LinuxHeaders.SCM_RIGHTS());
                for (int i = 0; i < fds.size(); i++) {
                    control.set(ValueLayout.JAVA_INT, cmsghdr.layout().byteSize() + 4L * i, fds.get(i));
                }
                msghdr.msg_control(message, control);
                msghdr.msg_controllen(message, space);
            }
            long sent;
            do {
                sent = Libc.sendmsg(fd.get(), message, LinuxHeaders.MSG_NOSIGNAL());
            } while (sent == -LinuxHeaders.EINTR());
            if (sent < 0) {
                throw new IOException("sending a message on " + fd + " failed: "
                        + new NativeCallException("sendmsg", (int) -sent).getMessage());
            }
        }
    }

    /**
     * {@return the next message, waiting up to {@code timeout} for it; empty at end of stream} Every fd that came with
     * it is returned, close-on-exec from the moment the kernel installed it (so that no fork and exec in another thread
     * inherits it), and none leaks whatever the caller does with the bytes. (A message
     * of no bytes and no fds would read as the end of the stream, which is why {@link #send} refuses to send one.)
     *
     * @param timeout how long to wait for a message to arrive, counted in nanoseconds and rounded up to whole
     *     milliseconds per wait; the receive itself does not wait once the socket is readable
     * @throws IOException if the time runs out, the message is longer than {@link #MAX_MESSAGE}, or receiving fails
     */
    public java.util.Optional<Message> receive(Duration timeout) throws IOException {
        awaitReadable(fd.get(), timeout, "a message on " + fd);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment message = arena.allocate(msghdr.layout());
            MemorySegment data = arena.allocate(MAX_MESSAGE + 1);
            MemorySegment vector = arena.allocate(iovec.layout());
            iovec.iov_base(vector, data);
            iovec.iov_len(vector, data.byteSize());
            msghdr.msg_iov(message, vector);
            msghdr.msg_iovlen(message, 1);
            long space = controlSpace(MAX_FDS);
            MemorySegment control = arena.allocate(space, 8);
            msghdr.msg_control(message, control);
            msghdr.msg_controllen(message, space);
            long received;
            do {
                // Close-on-exec from the start: set afterwards, a fork and exec in another thread could leak the fds.
                received = Libc.recvmsg(fd.get(), message, MSG_CMSG_CLOEXEC);
            } while (received == -LinuxHeaders.EINTR());
            if (received < 0) {
                throw new IOException("receiving a message on " + fd + " failed: "
                        + new NativeCallException("recvmsg", (int) -received).getMessage());
            }
            List<OwnedFd> fds = takeFds(message, control);
            if (received > MAX_MESSAGE) {
                fds.forEach(OwnedFd::close);
                throw new IOException("a message longer than " + MAX_MESSAGE + " bytes came on " + fd);
            }
            if (received == 0 && fds.isEmpty()) {
                return java.util.Optional.empty();
            }
            return java.util.Optional.of(new Message(data.asSlice(0, received).toArray(ValueLayout.JAVA_BYTE), fds));
        }
    }

    private static List<OwnedFd> takeFds(MemorySegment message, MemorySegment control) {
        List<OwnedFd> fds = new ArrayList<>();
        long length = msghdr.msg_controllen(message);
        long header = cmsghdr.layout().byteSize();
        long offset = 0;
        while (offset + header <= length) {
            MemorySegment entry = control.asSlice(offset);
            long entryLength = cmsghdr.cmsg_len(entry);
            if (entryLength < header || offset + entryLength > length) {
                break;
            }
            if (cmsghdr.cmsg_level(entry) == LinuxHeaders.SOL_SOCKET()
                    && cmsghdr.cmsg_type(entry) == LinuxHeaders.SCM_RIGHTS()) {
                for (long at = header; at + 4 <= entryLength; at += 4) {
                    int received = entry.get(ValueLayout.JAVA_INT, at); // close-on-exec already (MSG_CMSG_CLOEXEC)
                    fds.add(new OwnedFd(received, "fd from a device process message"));
                }
            }
            offset += (entryLength + 7) & ~7L;
        }
        return fds;
    }

    private static long controlSpace(int fds) {
        return cmsghdr.layout().byteSize() + ((4L * fds + 7) & ~7L);
    }

    /**
     * Waits until {@code fd} is readable (or hung up).
     *
     * @throws IOException if {@code timeout} passes first; the message says what was awaited
     */
    static void awaitReadable(int fd, Duration timeout, String what) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pollFd = arena.allocate(pollfd.layout());
            pollfd.fd(pollFd, fd);
            pollfd.events(pollFd, (short) LinuxHeaders.POLLIN());
            if (!poll(pollFd, timeout.toNanos())) {
                throw new IOException(what + " did not come within " + timeout.toMillis() + " ms");
            }
        }
    }

    /** Polls the one {@code pollfd} in {@code pollFd} for up to {@code nanos}; false if the time ran out. */
    static boolean poll(MemorySegment pollFd, long nanos) throws IOException {
        long deadline = System.nanoTime() + nanos;
        while (true) {
            long left = deadline - System.nanoTime();
            int millis = (int) Math.min(Integer.MAX_VALUE, Math.max(0, (left + 999_999) / 1_000_000));
            int ready = Libc.poll(pollFd, 1, millis);
            if (ready > 0) {
                return true;
            }
            if (ready < 0 && ready != -LinuxHeaders.EINTR()) {
                throw new IOException("poll failed: " + new NativeCallException("poll", -ready).getMessage());
            }
            if (ready == 0 && System.nanoTime() - deadline >= 0) {
                return false;
            }
        }
    }

    /**
     * Shuts the socket down both ways: a thread waiting to receive on it wakes to the end of the stream, and the peer
     * sees it too. The fd stays open until {@link #close()}. Idempotent.
     */
    public void shutdown() {
        if (!fd.isClosed()) {
            Libc.shutdown(fd.get(), LinuxHeaders.SHUT_RDWR());
        }
    }

    /** Closes the socket; the peer sees the end of the stream. Idempotent. */
    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return fd.toString();
    }
}
