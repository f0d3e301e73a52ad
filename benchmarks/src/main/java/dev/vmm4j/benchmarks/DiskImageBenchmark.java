// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.benchmarks;

import dev.vmm4j.virtio.block.DiskImage;
import dev.vmm4j.virtio.block.DiskImages;
import dev.vmm4j.virtio.block.Qcow2Image;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
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
 * 4 KiB reads and writes at random 4 KiB-aligned offsets of a 256 MiB image, raw or qcow2 (64 KiB clusters, every
 * cluster allocated in setup so that writes overwrite in place), in the page cache, into and out of native memory as
 * guest memory is. The ratio qcow2/raw is the cost of the format: the L2 lookup (a cached table, or a read of one)
 * and, for writes, the refcount check that allows writing in place.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class DiskImageBenchmark {
    private static final long IMAGE_BYTES = 256L << 20;
    private static final int IO_BYTES = 4096;
    private static final int OFFSETS = 1 << 16;

    @Param({"raw", "qcow2"})
    public String format;

    private Path file;
    private DiskImage image;
    private Arena arena;
    private MemorySegment buffer;
    private final long[] offsets = new long[OFFSETS];
    private int next;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        file = Files.createTempFile("vmm4j-disk-benchmark", "." + format);
        Files.delete(file);
        arena = Arena.ofShared();
        MemorySegment chunk = arena.allocate(65536);
        chunk.fill((byte) 0x5a);
        // Both formats are filled the same way, 64 KiB (a qcow2 cluster) per pwrite, then fsynced: clean pages in the
        // cache. How a file was written matters: filled with 1 MiB writes, random 4 KiB writes into it cost 2.5x more
        // here (11 us against 4-6 us, the same in a Python loop), as the kernel caches it in large folios and a 4 KiB
        // write dirties a whole folio.
        if (format.equals("qcow2")) {
            Qcow2Image.create(file, IMAGE_BYTES, null, null);
        } else {
            try (var channel = java.nio.channels.FileChannel.open(
                    file, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
                channel.write(java.nio.ByteBuffer.allocate(1), IMAGE_BYTES - 1);
            }
        }
        try (DiskImage filling = DiskImages.open(file, false)) {
            for (long at = 0; at < IMAGE_BYTES; at += 65536) {
                filling.write(at, chunk, 0, 65536);
            }
            filling.flush();
        }
        Files.readAllBytes(file); // into the page cache
        image = DiskImages.open(file, false);
        buffer = arena.allocate(IO_BYTES, 4096);
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < OFFSETS; i++) {
            offsets[i] = random.nextLong(IMAGE_BYTES / IO_BYTES) * IO_BYTES;
        }
    }

    @Benchmark
    public long randomRead4KiB() throws IOException {
        long at = offsets[next++ & (OFFSETS - 1)];
        image.read(at, buffer, 0, IO_BYTES);
        return at;
    }

    @Benchmark
    public long randomWrite4KiB() throws IOException {
        long at = offsets[next++ & (OFFSETS - 1)];
        image.write(at, buffer, 0, IO_BYTES);
        return at;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        image.close();
        arena.close();
        Files.deleteIfExists(file);
    }
}
