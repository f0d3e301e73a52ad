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
     * @param position byte offset in the disk; {@code [position, position + length)} must lie inside
     *     {@link #sizeBytes()}
     * @param dst where the bytes go, usually a guest memory region; the image keeps no reference to it
     * @param offset byte offset in {@code dst}
     * @param length how many bytes to read
     * @throws IOException if the image cannot be read there (the message names the image and the errno)
     * @throws IndexOutOfBoundsException if {@code [offset, offset + length)} is not inside {@code dst}
     */
    void read(long position, MemorySegment dst, long offset, long length) throws IOException;

    /**
     * Writes {@code length} bytes of {@code src} from {@code offset} to the disk at {@code position}.
     *
     * @param position byte offset in the disk; {@code [position, position + length)} must lie inside
     *     {@link #sizeBytes()}
     * @param src where the bytes come from, usually a guest memory region; the image keeps no reference to it
     * @param offset byte offset in {@code src}
     * @param length how many bytes to write
     * @throws IOException if the image is read-only or the write fails
     * @throws IndexOutOfBoundsException if {@code [offset, offset + length)} is not inside {@code src}
     */
    void write(long position, MemorySegment src, long offset, long length) throws IOException;

    /**
     * Fills {@code dst} with the disk's bytes at {@code position}: {@link #read(long, MemorySegment, long, long)} over
     * all of {@code dst}.
     *
     * @param position byte offset in the disk
     * @param dst filled from its start to its end
     * @throws IOException if the image cannot be read there, or the range is not inside the disk
     */
    default void read(long position, MemorySegment dst) throws IOException {
        read(position, dst, 0, dst.byteSize());
    }

    /**
     * Writes {@code src} to the disk at {@code position}: {@link #write(long, MemorySegment, long, long)} of all of
     * {@code src}.
     *
     * @param position byte offset in the disk
     * @param src written from its start to its end
     * @throws IOException if the image is read-only, the write fails, or the range is not inside the disk
     */
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
     *
     * @param position byte offset in the disk where the range starts
     * @param length the range's size in bytes; partial units at either end are kept
     * @throws IOException if the image cannot give the space back (read-only, the range is outside the disk, or the
     *     metadata update fails); the default never throws
     */
    default void discard(long position, long length) throws IOException {}

    /**
     * Makes every completed write durable (fsync).
     *
     * @throws IOException if the fsync fails; writes since the last successful flush may then be lost
     */
    void flush() throws IOException;

    /** Releases the image and its lock. */
    @Override
    void close();
}
