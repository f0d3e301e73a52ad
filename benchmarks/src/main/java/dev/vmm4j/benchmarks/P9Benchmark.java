// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.benchmarks;

import dev.vmm4j.virtio.p9.P9Messages;
import dev.vmm4j.virtio.p9.P9Server;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
 * Sequential reads and writes of a 64 MiB file (in the page cache) through the 9P2000.L server, one Tread or Twrite of
 * {@code chunkBytes} per operation at the next offset (wrapping at 64 MiB), as Linux's v9fs sends them with the
 * maximum msize (512 KiB; its iounit is msize - 24). The T-message is built in the server's request buffer and the
 * R-message read from its reply buffer, as the virtio device does, so this measures the server and the kernel's
 * copy, not guest memory. MB/s = chunkBytes / time per op; run with {@code -prof gc} for B/op (the read path
 * allocates nothing per message).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class P9Benchmark {
    private static final long FILE_BYTES = 64L << 20;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int READ_FID = 1;
    private static final int WRITE_FID = 2;

    @Param({"65536", "524264"})
    public int chunkBytes;

    private Path dir;
    private P9Server server;
    private MemorySegment request;
    private MemorySegment reply;
    private long readOffset;
    private long writeOffset;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("vmm4j-p9-benchmark");
        byte[] chunk = new byte[1 << 20];
        java.util.Arrays.fill(chunk, (byte) 0x5a);
        try (var out = Files.newOutputStream(dir.resolve("read"))) {
            for (long at = 0; at < FILE_BYTES; at += chunk.length) {
                out.write(chunk);
            }
        }
        Files.readAllBytes(dir.resolve("read")); // into the page cache
        server = P9Server.open(dir, false);
        request = server.requestBuffer();
        reply = server.replyBuffer();
        send(P9Messages.TVERSION, body -> body.u32(P9Server.MAX_MSIZE).str("9P2000.L"));
        send(
                P9Messages.TATTACH,
                body -> body.u32(0).u32(P9Messages.NOFID).str("").str("").u32(0));
        send(P9Messages.TWALK, body -> body.u32(0).u32(READ_FID).u16(1).str("read"));
        send(P9Messages.TLOPEN, body -> body.u32(READ_FID).u32(0));
        send(P9Messages.TWALK, body -> body.u32(0).u32(WRITE_FID).u16(0));
        send(
                P9Messages.TLCREATE,
                body -> body.u32(WRITE_FID)
                        .str("written")
                        .u32(2 | 0100)
                        .u32(0644)
                        .u32(0));
        if (sequentialRead() != chunkBytes || reply.get(ValueLayout.JAVA_BYTE, 4) != P9Messages.TREAD + 1) {
            throw new IllegalStateException("a Tread of " + chunkBytes + " bytes did not read them all");
        }
        if (sequentialWrite() != chunkBytes || reply.get(ValueLayout.JAVA_BYTE, 4) != P9Messages.TWRITE + 1) {
            throw new IllegalStateException("a Twrite of " + chunkBytes + " bytes did not write them all");
        }
    }

    /** Encodes one message body into the request buffer. */
    private interface Body {
        Encoder encode(Encoder e);
    }

    private final class Encoder {
        int at = 7;

        Encoder u16(int v) {
            request.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), at, (short) v);
            at += 2;
            return this;
        }

        Encoder u32(int v) {
            request.set(U32, at, v);
            at += 4;
            return this;
        }

        Encoder str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u16(b.length);
            MemorySegment.copy(MemorySegment.ofArray(b), 0, request, at, b.length);
            at += b.length;
            return this;
        }
    }

    private void send(int type, Body body) {
        int length = body.encode(new Encoder()).at;
        request.set(U32, 0, length);
        request.set(ValueLayout.JAVA_BYTE, 4, (byte) type);
        request.set(ValueLayout.JAVA_SHORT_UNALIGNED, 5, (short) 1);
        int n = server.serve(length, P9Server.MAX_MSIZE);
        if (n == 0 || reply.get(ValueLayout.JAVA_BYTE, 4) != type + 1) {
            throw new IllegalStateException("setup message " + type + " failed: errno " + reply.get(U32, 7)
                    + " (reply type " + reply.get(ValueLayout.JAVA_BYTE, 4) + ")");
        }
    }

    /** Tread fid[4] offset[8] count[4]: 23 bytes. {@return the bytes read} */
    @Benchmark
    public int sequentialRead() {
        request.set(U32, 0, 23);
        request.set(ValueLayout.JAVA_BYTE, 4, (byte) P9Messages.TREAD);
        request.set(U32, 7, READ_FID);
        request.set(U64, 11, readOffset);
        request.set(U32, 19, chunkBytes);
        server.serve(23, P9Server.MAX_MSIZE);
        int n = reply.get(U32, 7);
        readOffset = (readOffset + n) % FILE_BYTES;
        return n;
    }

    /** Twrite fid[4] offset[8] count[4] data[count]. {@return the bytes written} */
    @Benchmark
    public int sequentialWrite() {
        int length = 23 + chunkBytes;
        request.set(U32, 0, length);
        request.set(ValueLayout.JAVA_BYTE, 4, (byte) P9Messages.TWRITE);
        request.set(U32, 7, WRITE_FID);
        request.set(U64, 11, writeOffset);
        request.set(U32, 19, chunkBytes);
        server.serve(length, P9Server.MAX_MSIZE);
        int n = reply.get(U32, 7);
        writeOffset = (writeOffset + chunkBytes) % FILE_BYTES;
        return n;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        server.close();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
