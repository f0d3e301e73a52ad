// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * What a block device reads and writes: a disk of {@link #sizeBytes()} bytes in some image format ({@link RawDiskImage},
 * {@link Qcow2Image}, or one of your own). Transfers go straight between the image and the segment, which is usually a view
 * of guest memory, with no copy in between.
 *
 * <p><b>Thread safety:</b> implementations must allow concurrent transfers at different positions.
 */
public interface DiskImage extends AutoCloseable {
    /** {@return the disk's size in bytes, as the guest sees it} */
    long sizeBytes();

    /** {@return whether writes are refused} */
    boolean isReadOnly();

    /**
     * Fills {@code length} bytes of {@code dst} from {@code offset} with the disk's bytes at {@code position}. The
     * offset form lets a device read into part of a guest memory region without making a view of it.
     *
     * @throws IOException if the image cannot be read there (the message names the image and the errno)
     * @throws IndexOutOfBoundsException if {@code [offset, offset + length)} is not inside {@code dst}
     */
    void read(long position, MemorySegment dst, long offset, long length) throws IOException;

    /**
     * Writes {@code length} bytes of {@code src} from {@code offset} to the disk at {@code position}.
     *
     * @throws IOException if the image is read-only or the write fails
     * @throws IndexOutOfBoundsException if {@code [offset, offset + length)} is not inside {@code src}
     */
    void write(long position, MemorySegment src, long offset, long length) throws IOException;

    /** Fills {@code dst} with the disk's bytes at {@code position}. */
    default void read(long position, MemorySegment dst) throws IOException {
        read(position, dst, 0, dst.byteSize());
    }

    /** Writes {@code src} to the disk at {@code position}. */
    default void write(long position, MemorySegment src) throws IOException {
        write(position, src, 0, src.byteSize());
    }

    /** {@return whether {@link #discard} gives space back (else it does nothing)} */
    default boolean supportsDiscard() {
        return false;
    }

    /** {@return the unit {@link #discard} works in: only whole units inside a range are given back} */
    default long discardGranularity() {
        return 4096;
    }

    /**
     * Tells the image that {@code [position, position + length)} is no longer needed: the whole
     * {@linkplain #discardGranularity() units} inside it may be given back and then read as zeros. The default does
     * nothing, which the virtio spec allows for a discard.
     */
    default void discard(long position, long length) throws IOException {}

    /** Makes every completed write durable (fsync). */
    void flush() throws IOException;

    /** Releases the image and its lock. */
    @Override
    void close();
}
