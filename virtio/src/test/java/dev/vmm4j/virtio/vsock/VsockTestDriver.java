// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The guest's side of a vsock device in the harness: posts receive buffers, sends packets, reads what came. */
final class VsockTestDriver implements AutoCloseable {
    static final int RX = 0;
    static final int TX = 1;
    static final int EVENT = 2;
    static final long HOST = 2;

    /** A packet as the guest sees it. */
    record Packet(
            long srcCid,
            long dstCid,
            int srcPort,
            int dstPort,
            int len,
            int type,
            int op,
            int flags,
            int bufAlloc,
            int fwdCnt,
            byte[] payload) {
        static Packet of(long srcCid, int srcPort, long dstCid, int dstPort, int op) {
            return new Packet(srcCid, dstCid, srcPort, dstPort, 0, 1, op, 0, 0, 0, new byte[0]);
        }

        Packet withCredit(int newBufAlloc, int newFwdCnt) {
            return new Packet(srcCid, dstCid, srcPort, dstPort, len, type, op, flags, newBufAlloc, newFwdCnt, payload);
        }

        Packet withFlags(int newFlags) {
            return new Packet(srcCid, dstCid, srcPort, dstPort, len, type, op, newFlags, bufAlloc, fwdCnt, payload);
        }

        Packet withPayload(byte[] bytes) {
            return new Packet(srcCid, dstCid, srcPort, dstPort, bytes.length, type, op, flags, bufAlloc, fwdCnt, bytes);
        }

        byte[] encode() {
            ByteBuffer b = ByteBuffer.allocate(44 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(srcCid).putLong(dstCid).putInt(srcPort).putInt(dstPort).putInt(len);
            b.putShort((short) type)
                    .putShort((short) op)
                    .putInt(flags)
                    .putInt(bufAlloc)
                    .putInt(fwdCnt);
            b.put(payload);
            return b.array();
        }

        static Packet decode(byte[] bytes) {
            ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            long src = b.getLong();
            long dst = b.getLong();
            int srcPort = b.getInt();
            int dstPort = b.getInt();
            int len = b.getInt();
            int type = Short.toUnsignedInt(b.getShort());
            int op = Short.toUnsignedInt(b.getShort());
            int flags = b.getInt();
            int bufAlloc = b.getInt();
            int fwdCnt = b.getInt();
            byte[] payload = new byte[bytes.length - 44];
            b.get(payload);
            return new Packet(src, dst, srcPort, dstPort, len, type, op, flags, bufAlloc, fwdCnt, payload);
        }
    }

    final DeviceHarness harness;
    final List<DriverQueue> queues;
    private final int rxBufferBytes;
    private final Map<Integer, Long> rxBuffers = new HashMap<>();
    private int rxSeen;
    private int txSeen;

    VsockTestDriver(VsockDevice device, int rxBuffers, int rxBufferBytes) {
        this.harness = DeviceHarness.create(device, 64L << 20);
        this.queues = harness.activate(harness.offeredFeatures(), 0);
        this.rxBufferBytes = rxBufferBytes;
        postRx(rxBuffers);
        for (int i = 0; i < 4; i++) {
            queues.get(EVENT).addChain(Buffer.writable(harness.allocate(8), 8));
        }
        harness.notifyQueue(EVENT);
    }

    /** Posts {@code count} receive buffers (one descriptor each, header and payload together). */
    void postRx(int count) {
        for (int i = 0; i < count; i++) {
            long gpa = harness.allocate(rxBufferBytes);
            int head = queues.get(RX).addChain(Buffer.writable(gpa, rxBufferBytes));
            rxBuffers.put(head, gpa);
        }
        harness.notifyQueue(RX);
    }

    /** Sends {@code packet} as one readable buffer, or header and payload in two when {@code split}. */
    void send(Packet packet, boolean split) {
        byte[] bytes = packet.encode();
        if (split && bytes.length > 44) {
            long header = harness.allocate(44);
            long payload = harness.allocate(bytes.length - 44);
            write(header, java.util.Arrays.copyOf(bytes, 44));
            write(payload, java.util.Arrays.copyOfRange(bytes, 44, bytes.length));
            queues.get(TX).addChain(Buffer.readable(header, 44), Buffer.readable(payload, bytes.length - 44));
        } else {
            long gpa = harness.allocate(bytes.length);
            write(gpa, bytes);
            queues.get(TX).addChain(Buffer.readable(gpa, bytes.length));
        }
        harness.notifyQueue(TX);
    }

    void send(Packet packet) {
        send(packet, false);
    }

    /** Runs the device, then {@return the packets it put in receive buffers since the last call} (re-posting each) */
    List<Packet> receive() {
        harness.runUntilIdle();
        List<Packet> packets = new ArrayList<>();
        DriverQueue rx = queues.get(RX);
        int reposts = 0;
        for (; rxSeen < rx.usedIdx(); rxSeen++) {
            DriverQueue.UsedElement used = rx.used(rxSeen);
            long gpa = rxBuffers.remove(used.id());
            if (used.length() >= 44) {
                byte[] bytes = new byte[(int) used.length()];
                read(gpa, bytes);
                packets.add(Packet.decode(bytes));
            }
            reposts++;
        }
        if (reposts > 0) {
            postRx(reposts);
            harness.runUntilIdle();
        }
        return packets;
    }

    /** {@return how many transmit chains the device has returned} */
    int txUsed() {
        harness.runUntilIdle();
        txSeen = queues.get(TX).usedIdx();
        return txSeen;
    }

    private void write(long gpa, byte[] bytes) {
        try {
            harness.memory().writeFully(gpa, bytes);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void read(long gpa, byte[] bytes) {
        try {
            harness.memory().readFully(gpa, bytes);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        harness.close();
    }
}
