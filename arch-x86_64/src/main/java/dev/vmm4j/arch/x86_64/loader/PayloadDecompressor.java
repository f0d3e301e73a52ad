// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.loader;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.zip.GZIPInputStream;
import org.tukaani.xz.SingleXZInputStream;

/**
 * Decompresses a bzImage payload on the host (gzip or xz, the formats distributions ship), so the guest can start at
 * the decompressed vmlinux's entry without running its own decompressor. Output is capped: a hostile payload
 * cannot make the VMM run out of memory.
 */
final class PayloadDecompressor {
    /** Bigger than any real vmlinux (Debian's is about 60 MiB), small enough to hold in a byte array. */
    static final long MAX_OUTPUT = 512L << 20;
    /** xz dictionary memory limit, in KiB; kernels use a 32 MiB dictionary at most. */
    private static final int XZ_MEMORY_LIMIT_KIB = 256 << 10;

    private PayloadDecompressor() {}

    /** {@return the format of {@code payload} by its magic, or a name for what it is} */
    static String format(MemorySegment payload) {
        byte[] head = payload.asSlice(0, Math.min(6, payload.byteSize())).toArray(ValueLayout.JAVA_BYTE);
        if (startsWith(head, 0x1f, 0x8b)) {
            return "gzip";
        }
        if (startsWith(head, 0xfd, '7', 'z', 'X', 'Z', 0x00)) {
            return "xz";
        }
        if (startsWith(head, 'B', 'Z', 'h')) {
            return "bzip2";
        }
        if (startsWith(head, 0x28, 0xb5, 0x2f, 0xfd)) {
            return "zstd";
        }
        if (startsWith(head, 0x02, 0x21, 0x4c, 0x18)) {
            return "lz4";
        }
        if (startsWith(head, 0x89, 'L', 'Z', 'O')) {
            return "lzo";
        }
        if (startsWith(head, 0x5d, 0x00, 0x00)) {
            return "lzma";
        }
        return "unknown";
    }

    static byte[] decompress(MemorySegment payload, String what) throws InvalidKernelException {
        String format = format(payload);
        InputStream compressed = new SegmentInputStream(payload);
        try (InputStream in = switch (format) {
            case "gzip" -> new GZIPInputStream(compressed, 1 << 16);
            // One stream only: the kernel build appends the decompressed size after it, which is not another stream.
            case "xz" -> new SingleXZInputStream(compressed, XZ_MEMORY_LIMIT_KIB);
            default ->
                throw new InvalidKernelException("cannot decompress the payload of " + what + " on the host: it is "
                        + format + "; vmm4j decompresses gzip and xz (or boot it without host-side decompression)");
        }) {
            // Kernels compress about 4:1; start near that instead of reserving a kernel's worth for every payload.
            ByteArrayOutputStream out =
                    new ByteArrayOutputStream((int) Math.min(64 << 20, Math.max(1 << 16, 4 * payload.byteSize())));
            byte[] buffer = new byte[1 << 16];
            int n;
            while ((n = in.read(buffer)) > 0) {
                if (out.size() + (long) n > MAX_OUTPUT) {
                    throw new InvalidKernelException("the " + format + " payload of " + what
                            + " decompresses to more than " + (MAX_OUTPUT >> 20) + " MiB: not a kernel");
                }
                out.write(buffer, 0, n);
            }
            return out.toByteArray();
        } catch (IOException e) {
            String why = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
            throw new InvalidKernelException("the " + format + " payload of " + what + " is corrupt: " + why, e);
        }
    }

    private static boolean startsWith(byte[] head, int... magic) {
        if (head.length < magic.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if ((head[i] & 0xff) != magic[i]) {
                return false;
            }
        }
        return true;
    }

    /** Reads a segment as a stream, without copying it first. */
    private static final class SegmentInputStream extends InputStream {
        private final MemorySegment segment;
        private long position;

        SegmentInputStream(MemorySegment segment) {
            this.segment = segment;
        }

        @Override
        public int read() {
            return position < segment.byteSize() ? segment.get(ValueLayout.JAVA_BYTE, position++) & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            long left = segment.byteSize() - position;
            if (left <= 0) {
                return -1;
            }
            int n = (int) Math.min(len, left);
            MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, position, b, off, n);
            position += n;
            return n;
        }
    }
}
