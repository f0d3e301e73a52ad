package dev.vmm4j.virtio.block;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * What a block device reads and writes: a disk of {@link #sizeBytes()} bytes in some image format (raw today;
 * qcow2 behind the same interface). Transfers go straight between the image and the segment, which is usually a view
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
     * Fills {@code dst} with the disk's bytes at {@code position}.
     *
     * @throws IOException if the image cannot be read there (the message names the image and the errno)
     */
    void read(long position, MemorySegment dst) throws IOException;

    /**
     * Writes {@code src} to the disk at {@code position}.
     *
     * @throws IOException if the image is read-only or the write fails
     */
    void write(long position, MemorySegment src) throws IOException;

    /** Makes every completed write durable (fsync). */
    void flush() throws IOException;

    /** Releases the image and its lock. */
    @Override
    void close();
}
