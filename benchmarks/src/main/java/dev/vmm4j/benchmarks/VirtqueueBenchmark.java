// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.benchmarks;

import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.virtio.QueueHandler;
import dev.vmm4j.virtio.VirtioFeatures;
import dev.vmm4j.virtio.VirtioInterrupt;
import dev.vmm4j.virtio.block.BlockDevice;
import dev.vmm4j.virtio.block.BlockLayout;
import dev.vmm4j.virtio.queue.SplitQueue;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import dev.vmm4j.virtio.testing.GuestAllocator;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * The virtio-blk queue path for one 3-descriptor read chain, as Linux builds it (16-byte header, 4 KiB data, 1-byte
 * status), from a raw image in the page cache: per operation the driver (played in Java) makes the chain available,
 * and the device's {@link QueueHandler} pops it, parses and validates it, {@code pread}s 4 KiB straight into guest
 * memory, writes the status, publishes the used element and decides whether to interrupt. No eventfd or epoll: that
 * is the event loop's cost, not the queue's. Each operation reads the next 4 KiB of a 16 MiB image (read once in
 * setup, so it is cached). GB/s = 4096 / (ns per op). Run with {@code -prof gc}: the path must show 0 B/op.
 * {@link #preadOnly4KiB} is the floor: the same {@code pread} with no queue around it.
 *
 * <p>{@code backing} is the guest memory's: {@code anonymous} (private anonymous memory, an unjailed VM's) or
 * {@code memfd} (a shared mapping of a memfd, as {@code VirtualMachineBuilder.sandbox(..)} makes it and a jailed
 * device process maps it; here driver and device share one mapping): the data path of a device process is this same
 * code over that memory.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class VirtqueueBenchmark {
    private static final int IMAGE_BYTES = 16 << 20;
    private static final int DATA_BYTES = 4096;

    @Param({"anonymous", "memfd"})
    public String backing;

    private Path image;
    private GuestMemoryMmap memory;
    private BlockDevice device;
    private EventLoop loop;
    private EventFd notification;
    private DriverQueue driver;
    private QueueHandler handler;
    private long header;
    private MemorySegment dataView;
    private int head;
    private long sector;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        image = Files.createTempFile("vmm4j-virtqueue", ".img");
        Files.write(image, new byte[IMAGE_BYTES]);
        Files.readAllBytes(image); // into the page cache
        memory = switch (backing) {
            case "anonymous" -> GuestMemoryMmap.builder().anonymous(0, 16 << 20).build();
            case "memfd" ->
                GuestMemoryMmap.builder()
                        .memfd(0, 16 << 20, "virtqueue-benchmark")
                        .build();
            default -> throw new IllegalArgumentException("no guest memory backing " + backing);
        };
        GuestAllocator allocator = new GuestAllocator(0x1000, (16 << 20) - 0x1000);
        driver = new DriverQueue(memory, allocator, BlockDevice.QUEUE_SIZE);
        SplitQueue queue = new SplitQueue(BlockDevice.QUEUE_SIZE);
        queue.setDescTableAddress(driver.descTableAddress());
        queue.setAvailRingAddress(driver.availRingAddress());
        queue.setUsedRingAddress(driver.usedRingAddress());
        queue.setReady(true);
        queue.activate(memory, true, true);

        device = BlockDevice.openRaw(image, false);
        loop = EventLoop.create("virtqueue-benchmark");
        notification = EventFd.createNonBlocking();
        VirtioInterrupt interrupt = new VirtioInterrupt() {
            @Override
            public void signalUsed(int queueIndex) {}

            @Override
            public void signalConfigChange() {}

            @Override
            public void signalNeedsReset(String reason) {
                throw new IllegalStateException(reason);
            }
        };
        device.activate(new DeviceActivation(
                memory,
                1L << VirtioFeatures.VIRTIO_F_VERSION_1,
                List.of(queue),
                List.of(notification),
                interrupt,
                loop));
        handler = new QueueHandler("virtio-blk", 0, queue, notification, interrupt, device::serve);

        header = allocator.allocate(BlockLayout.HEADER_SIZE);
        long data = allocator.allocate(DATA_BYTES, 4096);
        long status = allocator.allocate(1);
        memory.writeFully(
                header,
                ByteBuffer.allocate(16)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putInt(BlockLayout.VIRTIO_BLK_T_IN)
                        .array());
        head = driver.addChain(
                Buffer.readable(header, BlockLayout.HEADER_SIZE),
                Buffer.writable(data, DATA_BYTES),
                Buffer.writable(status, 1));
        dataView = memory.slice(data, DATA_BYTES);
        if (handler.drain() != 1 || memory.getByte(status) != BlockLayout.VIRTIO_BLK_S_OK) {
            throw new IllegalStateException("the first request failed");
        }
    }

    /** One chain made available and served; returns the used index so the work cannot be optimised away. */
    @Benchmark
    public int readChain4KiB() throws Exception {
        sector = (sector + DATA_BYTES / BlockLayout.SECTOR_SIZE) % (IMAGE_BYTES / BlockLayout.SECTOR_SIZE);
        memory.putLong(header + 8, sector);
        driver.makeAvailable(head);
        if (handler.drain() != 1) {
            throw new IllegalStateException("the chain was not served");
        }
        return driver.usedIdx();
    }

    /** Baseline: the same 4 KiB {@code pread} into the same guest buffer, without the queue. */
    @Benchmark
    public long preadOnly4KiB() throws IOException {
        sector = (sector + DATA_BYTES / BlockLayout.SECTOR_SIZE) % (IMAGE_BYTES / BlockLayout.SECTOR_SIZE);
        device.image().read(sector * BlockLayout.SECTOR_SIZE, dataView);
        return sector;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        device.reset();
        device.close();
        loop.close();
        notification.close();
        memory.close();
        Files.deleteIfExists(image);
    }
}
