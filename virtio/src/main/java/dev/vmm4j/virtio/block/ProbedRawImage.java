// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;

/**
 * A raw image whose format was found by probing: the guest may write anything except a qcow2 magic at the start, so
 * that the next probe cannot take the disk for a qcow2 image with a backing file of the guest's choosing (qemu guards
 * probed raw images the same way). Such a write fails, as an I/O error to the guest.
 */
final class ProbedRawImage implements DiskImage {
    private final RawDiskImage raw;

    ProbedRawImage(RawDiskImage raw) {
        this.raw = raw;
    }

    @Override
    public long sizeBytes() {
        return raw.sizeBytes();
    }

    @Override
    public boolean isReadOnly() {
        return raw.isReadOnly();
    }

    @Override
    public void read(long position, MemorySegment dst, long offset, long length) throws IOException {
        raw.read(position, dst, offset, length);
    }

    @Override
    public void write(long position, MemorySegment src, long offset, long length) throws IOException {
        if (position < 4 && length > 0 && raw.sizeBytes() >= 4) {
            byte[] start = new byte[4];
            raw.read(0, MemorySegment.ofArray(start));
            for (long i = position; i < Math.min(4, position + length); i++) {
                start[(int) i] = src.get(ValueLayout.JAVA_BYTE, offset + i - position);
            }
            if (ByteBuffer.wrap(start).getInt() == Qcow2Header.MAGIC) {
                throw new IOException("refused to write a qcow2 header into raw image " + raw.path()
                        + " (its format was probed; open it as raw explicitly to allow this)");
            }
        }
        raw.write(position, src, offset, length);
    }

    @Override
    public void flush() throws IOException {
        raw.flush();
    }

    @Override
    public void close() {
        raw.close();
    }

    @Override
    public String toString() {
        return raw.toString();
    }
}
