// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * A raw disk image: the file's bytes are the disk's, read and written with {@code pread}/{@code pwrite} straight
 * into and out of guest memory. The file is locked while open (see {@link ImageFile}: shared when read-only, exclusive
 * otherwise), and {@code /proc/self/fd/N} uses inherited fd N.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class RawDiskImage implements DiskImage {
    private final ImageFile file;
    private final long sizeBytes;

    private RawDiskImage(ImageFile file, long sizeBytes) {
        this.file = file;
        this.sizeBytes = sizeBytes;
    }

    /**
     * Opens and locks {@code path}.
     *
     * @param path the image file, or {@code /proc/self/fd/N} to use inherited fd N, which must be open for reading (and
     *     writing, unless {@code readOnly})
     * @param readOnly whether to open it read-only and lock it shared, rather than read-write and exclusive
     * @return the open image, which the caller owns and must close
     * @throws IOException if it cannot be opened, or another process or VM holds a conflicting lock (the message says
     *     which kind)
     */
    public static RawDiskImage open(Path path, boolean readOnly) throws IOException {
        return of(ImageFile.open(path, readOnly));
    }

    /** The raw image in {@code file}, which it then owns. */
    static RawDiskImage of(ImageFile file) throws IOException {
        try {
            return new RawDiskImage(file, file.size());
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** {@return the image's path} */
    public Path path() {
        return file.path();
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    @Override
    public boolean isReadOnly() {
        return file.isReadOnly();
    }

    @Override
    public void read(long position, MemorySegment dst, long offset, long length) throws IOException {
        checkRange(position, length);
        file.read(position, dst, offset, length);
    }

    @Override
    public void write(long position, MemorySegment src, long offset, long length) throws IOException {
        if (file.isReadOnly()) {
            throw new IOException("disk image " + file.path() + " is read-only");
        }
        checkRange(position, length);
        file.write(position, src, offset, length);
    }

    private void checkRange(long position, long length) throws IOException {
        DiskImages.checkRange(file.path(), sizeBytes, position, length);
    }

    @Override
    public void flush() throws IOException {
        file.flush();
    }

    @Override
    public void close() {
        file.close();
    }

    @Override
    public String toString() {
        return "RawDiskImage[" + file.path() + (file.isReadOnly() ? ", read-only" : "") + ", " + sizeBytes + " bytes]";
    }
}
