// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.benchmarks;

import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import dev.vmm4j.virtio.vsock.VsockChannel;
import dev.vmm4j.virtio.vsock.VsockConfig;
import dev.vmm4j.virtio.vsock.VsockDevice;
import dev.vmm4j.virtio.vsock.VsockHost;
import dev.vmm4j.virtio.vsock.VsockListener;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One stream packet through vmm4j's virtio-vsock device each way, between the guest's queues (the driver played in
 * Java on the same thread, over the MMIO transport) and a host {@link VsockChannel} (a unix socket pair). Per
 * operation: the driver makes a chain available and notifies (an eventfd write), the event loop's epoll_wait reports
 * it, the device checks the packet and its connection's credit, copies the payload between guest memory and the
 * socket, publishes the used element and decides the interrupt; the host channel's read or write of the payload is
 * included. Bytes per second = payload bytes / (ns per op) * 1e9. Run with {@code -prof gc}: B/op is what the whole
 * round allocates.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class VsockBenchmark {
    private static final int RX = 0;
    private static final int TX = 1;
    private static final int EVENT = 2;
    private static final int HEADER = 44;
    private static final long GUEST_CID = 3;
    private static final int GUEST_PORT = 1024;
    private static final int HOST_PORT = 5000;
    private static final int OP_REQUEST = 1;
    private static final int OP_RW = 5;
    private static final int OP_CREDIT_UPDATE = 6;
    /** The credit the guest grants: its fwd_cnt follows what it received, so the device never waits for it. */
    private static final int GUEST_BUF_ALLOC = 1 << 30;

    /** Payload bytes per packet: a small message and Linux's largest packet. */
    @Param({"4096", "65536"})
    public int payloadBytes;

    private DeviceHarness harness;
    private VsockListener listener;
    private VsockChannel host;
    private DriverQueue rx;
    private DriverQueue tx;
    private int rxHead;
    private int txHead;
    private int creditHead;
    private long creditPacket;
    private int guestReceived;
    private int guestToldFwdCnt;
    private int rxSeen;
    private ByteBuffer hostBuffer;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        VsockHost vsockHost = new VsockHost();
        listener = vsockHost.listen(HOST_PORT);
        harness =
                DeviceHarness.create(VsockDevice.open(VsockConfig.of(GUEST_CID).withHost(vsockHost)), 32L << 20);
        List<DriverQueue> queues = harness.activate();
        rx = queues.get(RX);
        tx = queues.get(TX);
        queues.get(EVENT).addChain(Buffer.writable(harness.allocate(8), 8));
        long rxBuffer = harness.allocate(HEADER + 65536);
        rxHead = rx.addChain(Buffer.writable(rxBuffer, HEADER + 65536));
        harness.notifyQueue(RX);

        long request = packet(OP_REQUEST, 0);
        int requestHead = tx.addChain(Buffer.readable(request, HEADER));
        harness.notifyQueue(TX);
        harness.runUntilIdle();
        host = listener.accept(Duration.ofSeconds(5));
        if (rx.usedIdx() != 1 || requestHead < 0) {
            throw new IllegalStateException("the device did not answer the guest's REQUEST");
        }
        rxSeen = 1;

        long data = packet(OP_RW, payloadBytes);
        txHead = tx.addChain(Buffer.readable(data, HEADER + payloadBytes));
        creditPacket = packet(OP_CREDIT_UPDATE, 0);
        creditHead = tx.addChain(Buffer.readable(creditPacket, HEADER));
        harness.runUntilIdle(); // the credit packet: nothing to do yet
        hostBuffer = ByteBuffer.allocateDirect(payloadBytes);
    }

    /** A stream packet from the guest's port to the host's, in guest memory. {@return its address} */
    private long packet(int op, int payload) throws Exception {
        long gpa = harness.allocate(HEADER + payload);
        ByteBuffer bytes = ByteBuffer.allocate(HEADER + payload).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(GUEST_CID).putLong(2).putInt(GUEST_PORT).putInt(HOST_PORT).putInt(payload);
        bytes.putShort((short) 1)
                .putShort((short) op)
                .putInt(0)
                .putInt(GUEST_BUF_ALLOC)
                .putInt(0);
        harness.memory().writeFully(gpa, bytes.array());
        return gpa;
    }

    /** The guest sends one packet; the host reads its payload from the channel. */
    @Benchmark
    public int guestToHost() throws Exception {
        tx.makeAvailable(txHead);
        harness.notifyQueue(TX);
        harness.runUntilIdle();
        if (rx.usedIdx() != rxSeen) { // a credit update from the device: the buffer goes back
            rxSeen = rx.usedIdx();
            rx.makeAvailable(rxHead);
            harness.notifyQueue(RX);
        }
        hostBuffer.clear();
        while (hostBuffer.hasRemaining()) {
            host.read(hostBuffer);
        }
        return hostBuffer.position();
    }

    /** The host writes one payload to the channel; the device puts it in the guest's buffer. */
    @Benchmark
    public int hostToGuest() throws Exception {
        hostBuffer.clear();
        host.write(hostBuffer);
        rx.makeAvailable(rxHead);
        harness.notifyQueue(RX);
        int read = 0;
        while (read < payloadBytes) {
            harness.runUntilIdle();
            int used = rx.usedIdx();
            if (used == rxSeen) {
                continue;
            }
            read += (int) rx.used(rxSeen).length() - HEADER;
            rxSeen = used;
            if (read < payloadBytes) {
                rx.makeAvailable(rxHead);
                harness.notifyQueue(RX);
            }
        }
        guestReceived += read;
        if (guestReceived - guestToldFwdCnt > GUEST_BUF_ALLOC / 2) { // tell the device the guest has read it all
            guestToldFwdCnt = guestReceived;
            harness.memory().writeFully(creditPacket + 40, intBytes(guestReceived));
            tx.makeAvailable(creditHead);
            harness.notifyQueue(TX);
            harness.runUntilIdle();
        }
        return read;
    }

    private static byte[] intBytes(int value) {
        return ByteBuffer.allocate(4)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putInt(value)
                .array();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        host.close();
        listener.close();
        harness.close();
    }
}
