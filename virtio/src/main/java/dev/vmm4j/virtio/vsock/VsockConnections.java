// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import dev.vmm4j.vmm.event.EventOps;
import dev.vmm4j.vmm.sys.Libc;
import java.net.ConnectException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The connections of an active vsock device, and what they owe the guest: a fixed table of at most
 * {@code capacity} connections (each one's id is its slot, also the token its socket is watched with), found by id and
 * by their (host port, guest port) without boxing; the queues of connections owing the guest a control packet or
 * having host bytes to read; the resets owed for packets of no connection; and each socket's epoll interest.
 *
 * <p>Everything here is bounded: the table by its capacity, each queue by it too (a connection is in a queue at most
 * once, and leaves both when it is removed), the resets by {@value #RESETS_FOR_GUEST_PACKETS} plus the capacity.
 *
 * <p><b>Thread safety:</b> confined to the device's event loop.
 */
final class VsockConnections {
    /** Event tokens below this are the device's own fds; a connection's token is this plus its slot. */
    static final int FIRST_ID = 16;
    /** The resets the guest's packets may leave waiting before its transmit queue waits too. */
    static final int RESETS_FOR_GUEST_PACKETS = 256;

    /** Where the ports of connections made from the host start, as Firecracker's. */
    private static final int FIRST_EPHEMERAL_PORT = 1 << 30;
    /** VMADDR_PORT_ANY: never a port of a connection. */
    private static final int ANY_PORT = -1;

    private final EventOps ops;
    private final VsockCounters counters;
    private final Runnable deadlineSet;
    private final int bufferSize;
    private final VsockConnection[] slots;
    private final long[] keys;
    private final VsockConnection[] byKey;
    private final ArrayDeque<VsockConnection> owing = new ArrayDeque<>();
    private final ArrayDeque<VsockConnection> readable = new ArrayDeque<>();
    private final long[] resets;

    private int size;
    private int nextSlot;
    private int nextEphemeralPort = FIRST_EPHEMERAL_PORT;
    private int resetsHead;
    private int resetsCount;

    /** {@code deadlineSet} runs when a connection gets a deadline, so that someone checks it in time. */
    VsockConnections(EventOps ops, VsockCounters counters, int capacity, int bufferSize, Runnable deadlineSet) {
        this.ops = ops;
        this.counters = counters;
        this.deadlineSet = deadlineSet;
        this.bufferSize = bufferSize;
        this.slots = new VsockConnection[capacity];
        int tableSize = Integer.highestOneBit(capacity * 4 - 1) << 1; // a power of two, at most a quarter full
        this.keys = new long[tableSize];
        this.byKey = new VsockConnection[tableSize];
        // Room for the resets of the guest's packets, and one more per connection the host may end meanwhile.
        this.resets = new long[RESETS_FOR_GUEST_PACKETS + capacity];
    }

    static long key(int hostPort, int guestPort) {
        return ((long) hostPort << 32) | Integer.toUnsignedLong(guestPort);
    }

    // ---- the table ----

    /** {@return a new connection in a free slot, or null if the table is full} */
    VsockConnection add(VsockConnection.Origin origin, int fd, VsockConnection.State state) {
        if (size == slots.length) {
            return null;
        }
        while (slots[nextSlot] != null) {
            nextSlot = (nextSlot + 1) % slots.length;
        }
        VsockConnection connection = new VsockConnection(FIRST_ID + nextSlot, origin, fd, bufferSize, state);
        slots[nextSlot] = connection;
        size++;
        counters.activeConnections = size;
        return connection;
    }

    int size() {
        return size;
    }

    boolean isFull() {
        return size == slots.length;
    }

    /** {@return the most connections the table holds} */
    int capacity() {
        return slots.length;
    }

    /** {@return the connection whose id (event token) is {@code id}, or null} */
    VsockConnection byId(int id) {
        int slot = id - FIRST_ID;
        return slot >= 0 && slot < slots.length ? slots[slot] : null;
    }

    /** {@return whether {@code connection} is still in the table (not removed)} */
    boolean isLive(VsockConnection connection) {
        return byId(connection.id) == connection;
    }

    /** {@return the connection the guest knows by these ports, or null} */
    VsockConnection byPorts(int hostPort, int guestPort) {
        long key = key(hostPort, guestPort);
        for (int i = hash(key); byKey[i] != null; i = (i + 1) & (keys.length - 1)) {
            if (keys[i] == key) {
                return byKey[i];
            }
        }
        return null;
    }

    /** Gives {@code connection} its ports and makes it known by them; the ports must be free. */
    void bindPorts(VsockConnection connection, int hostPort, int guestPort) {
        connection.hostPort = hostPort;
        connection.guestPort = guestPort;
        long key = key(hostPort, guestPort);
        int i = hash(key);
        while (byKey[i] != null) {
            i = (i + 1) & (keys.length - 1);
        }
        keys[i] = key;
        byKey[i] = connection;
        connection.bound = true;
    }

    /** Makes {@code connection} unknown by its ports (the guest is done with it; they may be used again). */
    void unbindPorts(VsockConnection connection) {
        if (!connection.bound) {
            return;
        }
        connection.bound = false;
        long key = key(connection.hostPort, connection.guestPort);
        int mask = keys.length - 1;
        int i = hash(key);
        while (byKey[i] != connection) {
            i = (i + 1) & mask;
        }
        // Linear probing: close the gap by moving back the entries after it that hash at or before it.
        int gap = i;
        for (int j = (gap + 1) & mask; byKey[j] != null; j = (j + 1) & mask) {
            int home = hash(keys[j]);
            if (((j - home) & mask) >= ((j - gap) & mask)) {
                keys[gap] = keys[j];
                byKey[gap] = byKey[j];
                gap = j;
            }
        }
        byKey[gap] = null;
    }

    private int hash(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 40) & (keys.length - 1);
    }

    /** {@return a host port of its own for a host connection to {@code guestPort}} */
    int freeHostPort(int guestPort) {
        int port;
        do {
            port = nextEphemeralPort++;
            if (nextEphemeralPort == ANY_PORT) {
                nextEphemeralPort = FIRST_EPHEMERAL_PORT;
            }
        } while (byPorts(port, guestPort) != null);
        return port;
    }

    /** Ends {@code connection}'s wait at {@code nanoTime} (System.nanoTime), or never (0). */
    void setDeadline(VsockConnection connection, long nanoTime) {
        connection.deadline = nanoTime;
        if (nanoTime != 0) {
            deadlineSet.run();
        }
    }

    /** {@return the connections now, for a scan that may remove some} */
    List<VsockConnection> snapshot() {
        List<VsockConnection> all = new ArrayList<>(size);
        for (VsockConnection connection : slots) {
            if (connection != null) {
                all.add(connection);
            }
        }
        return all;
    }

    // ---- what the guest is owed ----

    void owes(VsockConnection connection, int packet) {
        connection.owed |= packet;
        if (!connection.inControlQueue) {
            connection.inControlQueue = true;
            owing.add(connection);
        }
    }

    /** {@return the next connection owing the guest a control packet, or null} */
    VsockConnection nextOwing() {
        VsockConnection connection = owing.poll();
        if (connection != null) {
            connection.inControlQueue = false;
        }
        return connection;
    }

    void queueReadable(VsockConnection connection) {
        if (!connection.inReadableQueue) {
            connection.inReadableQueue = true;
            readable.add(connection);
        }
    }

    /** {@return the next connection whose host socket may have bytes for the guest, or null} */
    VsockConnection nextReadable() {
        VsockConnection connection = readable.poll();
        if (connection != null) {
            connection.inReadableQueue = false;
        }
        return connection;
    }

    boolean connectionsOwe() {
        return !owing.isEmpty() || !readable.isEmpty();
    }

    /** Queues a reset for these ports; only a guest that takes no packets while hundreds of connections end loses one. */
    void owesReset(int hostPort, int guestPort) {
        if (resetsCount == resets.length) {
            counters.resetsDropped++;
            return;
        }
        resets[(resetsHead + resetsCount) % resets.length] = key(hostPort, guestPort);
        resetsCount++;
    }

    int resetsWaiting() {
        return resetsCount;
    }

    /** {@return the ports of the oldest reset owed, as (host port << 32 | guest port)} */
    long nextReset() {
        long ports = resets[resetsHead];
        resetsHead = (resetsHead + 1) % resets.length;
        resetsCount--;
        return ports;
    }

    // ---- sockets ----

    /** Watches a connection's socket for {@code events}, or stops watching it ({@code -1}). */
    void watch(VsockConnection connection, int events) {
        if (events < 0) {
            if (connection.interest >= 0) {
                ops.remove(connection.fd);
                connection.interest = -1;
            }
            return;
        }
        if (connection.interest < 0) {
            ops.add(connection.fd, events, connection.id);
        } else if (events != connection.interest) {
            ops.modify(connection.fd, events, connection.id);
        }
        connection.interest = events;
    }

    /** Ends a connection at once: the guest is sent a reset if it knows the connection, and the host end is closed. */
    void reset(VsockConnection connection) {
        if (connection.bound && connection.guestKnows) {
            owesReset(connection.hostPort, connection.guestPort);
        }
        remove(connection);
    }

    /** Forgets a connection: out of the table and the queues, its socket closed, a waiting connect failed. */
    void remove(VsockConnection connection) {
        if (!isLive(connection)) {
            return;
        }
        slots[connection.id - FIRST_ID] = null;
        size--;
        counters.activeConnections = size;
        unbindPorts(connection);
        if (connection.inControlQueue) {
            owing.remove(connection);
            connection.inControlQueue = false;
        }
        if (connection.inReadableQueue) {
            readable.remove(connection);
            connection.inReadableQueue = false;
        }
        watch(connection, -1);
        Libc.close(connection.fd);
        connection.dropPending();
        if (connection.established != null && !connection.established.isDone()) {
            connection.established.completeExceptionally(new ConnectException("the connection to guest port "
                    + Integer.toUnsignedString(connection.guestPort) + " ended before the guest answered"));
        }
    }

    /** Closes every connection; the loop no longer watches their sockets (the device took the muxer off it). */
    void closeAll() {
        for (VsockConnection connection : snapshot()) {
            connection.interest = -1;
            remove(connection);
        }
    }
}
