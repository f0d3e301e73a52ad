// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.benchmarks;

import dev.vmm4j.virtio.net.NetDevice;
import dev.vmm4j.virtio.net.NetFeatures;
import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import dev.vmm4j.virtio.testing.FrameSocketPair;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 * One Ethernet frame through vmm4j's virtio-net device each way, with a SOCK_SEQPACKET socket pair standing in for the
 * tap (a tap needs CAP_NET_ADMIN and a network namespace; the device's side of both is one readv/writev on a
 * non-blocking fd). Per operation, everything a frame costs the host on the device's side: the driver (played in Java
 * on the same thread) makes a chain available and notifies through the MMIO transport (an eventfd write), the event
 * loop's epoll_wait reports it, the device pops and checks the chain and moves the frame with one system call straight
 * between guest memory and the socket, publishes the used element and raises the interrupt; the host end's read or
 * write of the frame is included. Frames per second = 1e9 / (ns per op). Run with {@code -prof gc}: B/op shows what
 * the whole round allocates (the harness's MMIO register write included).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class NetDeviceBenchmark {
    private static final int RX = 0;
    private static final int TX = 1;

    /** Ethernet frame bytes after the virtio-net header: a minimum frame and a full 1500-byte-MTU one. */
    @Param({"64", "1514"})
    public int frameBytes;

    private FrameSocketPair pair;
    private DeviceHarness harness;
    private DriverQueue rx;
    private DriverQueue tx;
    private int rxHead;
    private int txHead;
    private Arena arena;
    private MemorySegment hostFrame;
    private MemorySegment hostBuffer;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        pair = FrameSocketPair.create();
        harness = DeviceHarness.create(new NetDevice(pair.devicePort()));
        List<DriverQueue> queues = harness.activate();
        rx = queues.get(RX);
        tx = queues.get(TX);
        int bytes = NetFeatures.HEADER_BYTES + frameBytes;
        long txBuffer = harness.allocate(bytes);
        harness.memory().writeFully(txBuffer, new byte[bytes]);
        long rxBuffer = harness.allocate(NetFeatures.HEADER_BYTES + 1514);
        arena = Arena.ofConfined();
        hostFrame = arena.allocate(bytes);
        hostBuffer = arena.allocate(64 * 1024);
        txHead = tx.addChain(Buffer.readable(txBuffer, bytes));
        harness.notifyQueue(TX);
        harness.runUntilIdle();
        if (pair.receiveFromGuest(hostBuffer) != bytes) {
            throw new IllegalStateException("the first transmitted frame did not arrive");
        }
        rxHead = rx.addChain(Buffer.writable(rxBuffer, NetFeatures.HEADER_BYTES + 1514));
        harness.notifyQueue(RX);
        if (!pair.sendToGuest(hostFrame) || harness.runUntilIdle() == 0 || rx.usedIdx() != 1) {
            throw new IllegalStateException("the first received frame did not arrive");
        }
    }

    /** The guest sends one frame; the host reads it from the socket. */
    @Benchmark
    public int transmit() {
        tx.makeAvailable(txHead);
        harness.notifyQueue(TX);
        harness.runUntilIdle();
        int received = pair.receiveFromGuest(hostBuffer);
        if (received != NetFeatures.HEADER_BYTES + frameBytes) {
            throw new IllegalStateException("transmitted " + received + " bytes");
        }
        return received;
    }

    /** The host writes one frame to the socket; the device puts it in the guest's buffer. */
    @Benchmark
    public int receive() {
        int before = rx.usedIdx();
        rx.makeAvailable(rxHead);
        harness.notifyQueue(RX);
        if (!pair.sendToGuest(hostFrame)) {
            throw new IllegalStateException("the socket had no room for a frame");
        }
        harness.runUntilIdle();
        int after = rx.usedIdx();
        if (after == before) {
            throw new IllegalStateException("the frame did not reach the guest");
        }
        return after;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        harness.close();
        pair.close();
        arena.close();
    }
}
