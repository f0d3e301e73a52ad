// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * {@code struct virtio_vsock_hdr} (virtio 1.2, 5.10.6): the 44 little-endian bytes in front of every packet, read into
 * and written from plain fields so that a value the guest changes after it was checked cannot change under the device.
 *
 * <p><b>Thread safety:</b> not thread-safe; each user keeps its own.
 */
final class VsockHeader {
    static final int BYTES = 44;

    static final int TYPE_STREAM = 1;

    static final int OP_REQUEST = 1;
    static final int OP_RESPONSE = 2;
    static final int OP_RST = 3;
    static final int OP_SHUTDOWN = 4;
    static final int OP_RW = 5;
    static final int OP_CREDIT_UPDATE = 6;
    static final int OP_CREDIT_REQUEST = 7;

    /** SHUTDOWN flag: the sender will receive no more. */
    static final int SHUTDOWN_RCV = 1;
    /** SHUTDOWN flag: the sender will send no more. */
    static final int SHUTDOWN_SEND = 2;

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    long srcCid;
    long dstCid;
    int srcPort;
    int dstPort;
    /** Payload bytes that follow, as the sender claims: an unsigned 32-bit value. */
    int len;

    int type;
    int op;
    int flags;
    int bufAlloc;
    int fwdCnt;

    /** Reads the header from the first {@value #BYTES} bytes of {@code bytes}. */
    void read(MemorySegment bytes) {
        srcCid = bytes.get(LONG, 0);
        dstCid = bytes.get(LONG, 8);
        srcPort = bytes.get(INT, 16);
        dstPort = bytes.get(INT, 20);
        len = bytes.get(INT, 24);
        type = Short.toUnsignedInt(bytes.get(SHORT, 28));
        op = Short.toUnsignedInt(bytes.get(SHORT, 30));
        flags = bytes.get(INT, 32);
        bufAlloc = bytes.get(INT, 36);
        fwdCnt = bytes.get(INT, 40);
    }

    /** Writes the header to the first {@value #BYTES} bytes of {@code bytes}. */
    void write(MemorySegment bytes) {
        bytes.set(LONG, 0, srcCid);
        bytes.set(LONG, 8, dstCid);
        bytes.set(INT, 16, srcPort);
        bytes.set(INT, 20, dstPort);
        bytes.set(INT, 24, len);
        bytes.set(SHORT, 28, (short) type);
        bytes.set(SHORT, 30, (short) op);
        bytes.set(INT, 32, flags);
        bytes.set(INT, 36, bufAlloc);
        bytes.set(INT, 40, fwdCnt);
    }

    /** Sets every field of a stream packet but the payload length (0) and the credit, which the sender fills in. */
    void set(long srcCid, int srcPort, long dstCid, int dstPort, int op, int flags) {
        this.srcCid = srcCid;
        this.dstCid = dstCid;
        this.srcPort = srcPort;
        this.dstPort = dstPort;
        this.len = 0;
        this.type = TYPE_STREAM;
        this.op = op;
        this.flags = flags;
        this.bufAlloc = 0;
        this.fwdCnt = 0;
    }

    static String opName(int op) {
        return switch (op) {
            case OP_REQUEST -> "REQUEST";
            case OP_RESPONSE -> "RESPONSE";
            case OP_RST -> "RST";
            case OP_SHUTDOWN -> "SHUTDOWN";
            case OP_RW -> "RW";
            case OP_CREDIT_UPDATE -> "CREDIT_UPDATE";
            case OP_CREDIT_REQUEST -> "CREDIT_REQUEST";
            default -> "op " + op;
        };
    }

    @Override
    public String toString() {
        return opName(op) + " " + srcCid + ":" + Integer.toUnsignedString(srcPort) + " -> " + dstCid + ":"
                + Integer.toUnsignedString(dstPort) + " len " + Integer.toUnsignedString(len) + " type " + type
                + " flags " + flags + " buf_alloc " + Integer.toUnsignedString(bufAlloc) + " fwd_cnt "
                + Integer.toUnsignedString(fwdCnt);
    }
}
