// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;

/**
 * One stream connection between a guest port and a host port, with the host end a non-blocking unix stream socket:
 * where it is in its life, what it owes the guest, and the credit both ways (virtio 1.2, 5.10.6.3).
 *
 * <p>Credit, all counters modulo 2^32 as on the wire: the guest may have {@code bufAlloc - (rxCnt - fwdCnt)} bytes on
 * their way to the host, which is exactly the room left in {@link #pending}; the device may send the guest
 * {@code peerBufAlloc - (txCnt - peerFwdCnt)} bytes.
 *
 * <p><b>Thread safety:</b> confined to the device's event loop.
 */
final class VsockConnection {
    /** How the connection began, which decides what the host end is told. */
    enum Origin {
        /** A host process connected to the device's unix socket: it writes CONNECT and is answered OK. */
        HOST_SOCKET,
        /** An embedder called {@link VsockHost#connect}: no handshake on the socket. */
        HOST_API,
        /** The guest connected to a host port. */
        GUEST
    }

    enum State {
        /** A host socket whose {@code CONNECT <port>} line has not all arrived. */
        AWAITING_LINE,
        /** The device sent the guest a REQUEST and waits for its answer. */
        CONNECTING,
        ESTABLISHED,
        /** The guest is gone from the connection; what it sent is still being written to the host. */
        DRAINING
    }

    // What the connection owes the guest: one packet each, sent as rx buffers allow.
    static final int OWES_REQUEST = 1;
    static final int OWES_RESPONSE = 2;
    static final int OWES_CREDIT_UPDATE = 4;
    static final int OWES_SHUTDOWN = 8;

    final int id;
    final Origin origin;
    final int fd;
    int hostPort;
    int guestPort;
    State state;

    /** For {@link Origin#HOST_API}: completed with the host port when the guest accepts. */
    CompletableFuture<Integer> established;

    final byte[] line = new byte[HostSockets.MAX_CONNECT_LINE];
    int lineLength;

    /** Known by its ports in the table (until the guest is done with it). */
    boolean bound;
    /** The guest has heard of the connection (it asked for it, or the device's REQUEST went out): a reset is its due. */
    boolean guestKnows;
    /** When the connection gives up waiting (System.nanoTime), or 0 if it waits for nothing with a limit. */
    long deadline;

    int owed;
    int shutdownFlags;
    boolean inControlQueue;
    /** The host socket is known to be readable (or hung up) and waits for guest buffers or credit to be read from. */
    boolean inReadableQueue;
    /** The events the loop watches the socket for, or -1 when it is not watched at all. */
    int interest;

    /** The host sent everything it will send (read gave end of stream). */
    boolean hostSendDone;
    /** The host socket hung up or failed: epoll reports it whatever one asks, so it is no longer watched. */
    boolean hostHungUp;
    /** The guest will send no more (SHUTDOWN with SEND). */
    boolean guestSendDone;
    /** The guest will receive no more (SHUTDOWN with RCV). */
    boolean guestReceiveDone;
    /** The host socket's write side was shut after the guest's last byte reached it. */
    boolean hostWriteShut;

    final int bufAlloc;
    int rxCnt;
    int fwdCnt;
    int lastSentFwdCnt;
    int txCnt;
    int peerBufAlloc;
    int peerFwdCnt;

    /** Bytes from the guest that the host socket had no room for yet, as a ring; made when first needed. */
    private byte[] pending;

    private int pendingHead;
    private int pendingSize;

    VsockConnection(int id, Origin origin, int fd, int bufAlloc, State state) {
        this.id = id;
        this.origin = origin;
        this.fd = fd;
        this.bufAlloc = bufAlloc;
        this.state = state;
        this.interest = -1;
    }

    /** {@return whether bytes from the host may go to the guest: established, and neither side done with them} */
    boolean canReadHost() {
        return state == State.ESTABLISHED && !hostSendDone && !guestReceiveDone;
    }

    /** {@return the bytes the device may still send the guest on this connection} */
    int peerCredit() {
        long inFlight = Integer.toUnsignedLong(txCnt - peerFwdCnt);
        long credit = Integer.toUnsignedLong(peerBufAlloc) - inFlight;
        return (int) Math.max(0, Math.min(credit, Integer.MAX_VALUE));
    }

    /** {@return the room the device has granted the guest and the guest has not used} */
    int freeSpace() {
        return bufAlloc - pendingSize;
    }

    /** {@return whether the guest, as far as it knows, is short of credit, and telling it more would help} */
    boolean guestNeedsCreditUpdate() {
        long believedUsed = Integer.toUnsignedLong(rxCnt - lastSentFwdCnt);
        return fwdCnt != lastSentFwdCnt && bufAlloc - believedUsed < bufAlloc / 2;
    }

    int pendingSize() {
        return pendingSize;
    }

    /** Appends {@code length} bytes of {@code source} at {@code offset}; the caller has checked the room. */
    void appendPending(MemorySegment source, long offset, int length) {
        if (pending == null) {
            pending = new byte[bufAlloc];
        }
        int tail = (pendingHead + pendingSize) % pending.length;
        int first = Math.min(length, pending.length - tail);
        MemorySegment.copy(source, ValueLayout.JAVA_BYTE, offset, pending, tail, first);
        MemorySegment.copy(source, ValueLayout.JAVA_BYTE, offset + first, pending, 0, length - first);
        pendingSize += length;
    }

    /**
     * Copies the oldest pending bytes that lie in one piece into {@code target}.
     *
     * @return how many
     */
    int peekPending(MemorySegment target) {
        int n = (int) Math.min(Math.min(pendingSize, pending.length - pendingHead), target.byteSize());
        MemorySegment.copy(pending, pendingHead, target, ValueLayout.JAVA_BYTE, 0, n);
        return n;
    }

    void consumePending(int n) {
        pendingHead = (pendingHead + n) % pending.length;
        pendingSize -= n;
        if (pendingSize == 0) {
            pendingHead = 0;
        }
    }

    /** Drops the ring: a connection being torn down keeps no guest bytes. */
    void dropPending() {
        pending = null;
        pendingHead = 0;
        pendingSize = 0;
    }

    @Override
    public String toString() {
        return "vsock connection host port " + Integer.toUnsignedString(hostPort) + " <-> guest port "
                + Integer.toUnsignedString(guestPort) + " (" + origin + ", " + state + ")";
    }
}
