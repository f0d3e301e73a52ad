// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.testing;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.msghdr;
import dev.vmm4j.virtio.net.FramePort;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A connected pair of SOCK_SEQPACKET sockets standing in for a tap, so that a network device can be tested and
 * measured without CAP_NET_ADMIN: {@link #devicePort()} is the device's end (each record one frame with its virtio-net
 * header, as a tap with IFF_VNET_HDR carries them), and the test plays the host's network at the other end with
 * {@link #sendToGuest} and {@link #receiveFromGuest}. Both ends are non-blocking, and the kernel bounds what each
 * direction holds (the socket buffers), as it bounds a tap's queue.
 *
 * <p><b>Ownership:</b> the device owns {@link #devicePort()} once given it (it closes it); {@link #close()} closes the
 * host's end.
 *
 * <p><b>Thread safety:</b> the host's end is for one test thread.
 */
public final class FrameSocketPair implements AutoCloseable {
    private final OwnedFd host;
    private final Port device;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buffer = arena.allocate(128 * 1024);

    private FrameSocketPair(int hostFd, int deviceFd) {
        this.host = new OwnedFd(hostFd, "host end of a frame socket pair");
        this.device = new Port(new OwnedFd(deviceFd, "device end of a frame socket pair"));
    }

    /** {@return a new connected pair} */
    public static FrameSocketPair create() {
        int[] fds = Libc.socketpair(LinuxHeaders.SOCK_SEQPACKET() | LinuxHeaders.SOCK_NONBLOCK());
        return new FrameSocketPair(fds[0], fds[1]);
    }

    /** {@return the device's end, to give a {@code NetDevice}} */
    public FramePort devicePort() {
        return device;
    }

    /** {@return the host end's fd, for a test that polls it} */
    public int hostFd() {
        return host.get();
    }

    /**
     * Sends the guest one frame (its header first).
     *
     * @param headerAndFrame the virtio-net header and the frame, 1 byte to 128 KiB; copied
     * @return false if the socket had no room for it
     * @throws IllegalArgumentException if it is empty (an empty record reads as the end of the stream)
     * @throws IndexOutOfBoundsException if it is longer than 128 KiB
     * @throws IllegalStateException if the socket refuses it (such as a frame larger than its send buffer)
     */
    public boolean sendToGuest(byte[] headerAndFrame) {
        if (headerAndFrame.length == 0) {
            throw new IllegalArgumentException("an empty frame would read as the end of the stream");
        }
        MemorySegment frame = buffer.asSlice(0, headerAndFrame.length);
        MemorySegment.copy(MemorySegment.ofArray(headerAndFrame), 0, frame, 0, headerAndFrame.length);
        long sent = Libc.write(host.get(), frame);
        if (sent == FramePort.AGAIN) {
            return false;
        }
        if (sent != headerAndFrame.length) {
            throw new IllegalStateException("sending a frame of " + headerAndFrame.length + " bytes: " + sent);
        }
        return true;
    }

    /** {@return the next frame the guest sent (its header first), or null if none is waiting} */
    public byte[] receiveFromGuest() {
        long received = Libc.read(host.get(), buffer);
        if (received == FramePort.AGAIN) {
            return null;
        }
        if (received < 0) {
            throw new IllegalStateException("receiving a frame: errno " + -received);
        }
        return buffer.asSlice(0, received).toArray(ValueLayout.JAVA_BYTE);
    }

    /**
     * Receives the next frame the guest sent into {@code into} (native memory).
     *
     * @param into where the frame goes, header first; a longer frame is cut to fit and the rest is lost
     * @return its length (as received, so at most {@code into}'s size), or -1 if none is waiting
     * @throws IllegalStateException if the read fails otherwise
     */
    public int receiveFromGuest(MemorySegment into) {
        long received = Libc.read(host.get(), into);
        if (received == FramePort.AGAIN) {
            return -1;
        }
        if (received < 0) {
            throw new IllegalStateException("receiving a frame: errno " + -received);
        }
        return (int) received;
    }

    /**
     * Sends the guest one frame from {@code headerAndFrame} (native memory).
     *
     * @param headerAndFrame the virtio-net header and the frame, all of the segment; not empty
     * @return false if there was no room
     * @throws IllegalArgumentException if it is empty (an empty record reads as the end of the stream)
     * @throws IllegalStateException if the socket refuses it (such as a frame larger than its send buffer)
     */
    public boolean sendToGuest(MemorySegment headerAndFrame) {
        if (headerAndFrame.byteSize() == 0) {
            throw new IllegalArgumentException("an empty frame would read as the end of the stream");
        }
        long sent = Libc.write(host.get(), headerAndFrame);
        if (sent == FramePort.AGAIN) {
            return false;
        }
        if (sent != headerAndFrame.byteSize()) {
            throw new IllegalStateException("sending a frame of " + headerAndFrame.byteSize() + " bytes: " + sent);
        }
        return true;
    }

    /** Closes the host's end: the device then sees its port closed. */
    @Override
    public void close() {
        host.close();
        arena.close();
    }

    /** The device's end: recvmsg with MSG_TRUNC, so that a frame larger than the buffers shows its real length. */
    private static final class Port implements FramePort {
        private final OwnedFd fd;
        private final Arena arena = Arena.ofShared();
        private final MemorySegment message = msghdr.allocate(arena);

        Port(OwnedFd fd) {
            this.fd = fd;
        }

        @Override
        public int fd() {
            return fd.get();
        }

        @Override
        public long receive(MemorySegment iovecs, int count) {
            msghdr.msg_iov(message, iovecs);
            msghdr.msg_iovlen(message, count);
            return Libc.recvmsg(fd.get(), message, LinuxHeaders.MSG_TRUNC());
        }

        @Override
        public long send(MemorySegment iovecs, int count) {
            return Libc.writev(fd.get(), iovecs, count);
        }

        @Override
        public void close() {
            fd.close();
            arena.close();
        }

        @Override
        public String toString() {
            return "FrameSocketPair.Port[" + fd + "]";
        }
    }
}
