// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import dev.vmm4j.kvm.bindings.Errno;
import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An open, locked image file: whole-range {@code pread}/{@code pwrite} (straight into and out of native memory by
 * offset, so guest memory needs no view), big-endian metadata helpers, {@code fsync}. Raw and qcow2 images both sit on
 * one.
 *
 * <p>The file is locked with {@code flock} for as long as it is open, as crosvm does: shared when opened read-only,
 * exclusive otherwise, so two VMs (in this process or another, vmm4j or crosvm) never write one image at the same time,
 * and nobody writes an image a VM reads.
 *
 * <p>{@code /proc/self/fd/N} names fd N, which this process inherited from whoever started it: the image is then used
 * through that fd (checked to be open for reading, and for writing if the disk is writable), as crosvm does.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class ImageFile implements AutoCloseable {
    private static final Pattern INHERITED_FD = Pattern.compile("/proc/self/fd/(\\d+)");
    private final Path path;
    private final OwnedFd fd;
    private final boolean readOnly;

    private ImageFile(Path path, OwnedFd fd, boolean readOnly) {
        this.path = path;
        this.fd = fd;
        this.readOnly = readOnly;
    }

    /**
     * Opens and locks {@code path}.
     *
     * @throws IOException if it cannot be opened, or another process or VM holds a conflicting lock (the message says
     *     which kind)
     */
    static ImageFile open(Path path, boolean readOnly) throws IOException {
        Matcher inherited = INHERITED_FD.matcher(path.toString());
        if (inherited.matches()) {
            return openInherited(path, Integer.parseInt(inherited.group(1)), readOnly);
        }
        int raw;
        try {
            raw = Libc.open(
                    path.toString(),
                    readOnly ? LinuxHeaders.O_RDONLY() : LinuxHeaders.O_RDWR(),
                    readOnly
                            ? "a read-only disk needs a readable file"
                            : "a writable disk needs a file this user may read and write");
        } catch (NativeCallException e) {
            throw new IOException("cannot open disk image: " + e.getMessage(), e);
        }
        return lock(path, new OwnedFd(raw, "disk image " + path), readOnly);
    }

    /**
     * Takes over fd {@code number}, which this process inherited (crosvm's {@code /proc/self/fd/N} convention: a
     * launcher opens the image and passes the fd), after checking it was opened for what the disk needs.
     */
    private static ImageFile openInherited(Path path, int number, boolean readOnly) throws IOException {
        Path info = Path.of("/proc/self/fdinfo/" + number);
        String flags = null;
        try {
            for (String line : Files.readAllLines(info)) {
                if (line.startsWith("flags:")) {
                    flags = line.substring("flags:".length()).strip();
                }
            }
        } catch (IOException e) {
            throw new IOException(
                    "disk " + path + ": this process has no fd " + number + " (was it passed, as in 9<>image?)", e);
        }
        if (flags == null) {
            throw new IOException("disk " + path + ": " + info + " has no flags line");
        }
        int accessMode = Integer.parseInt(flags, 8) & 3; // O_ACCMODE
        if (accessMode == LinuxHeaders.O_WRONLY() || (!readOnly && accessMode != LinuxHeaders.O_RDWR())) {
            throw new IOException("disk " + path + ": fd " + number + " is open "
                    + (accessMode == LinuxHeaders.O_WRONLY() ? "write-only" : "read-only") + ", but the disk needs it "
                    + (readOnly ? "readable" : "readable and writable"));
        }
        if (!Files.isRegularFile(path)) {
            throw new IOException("disk " + path + ": fd " + number + " is not a regular file");
        }
        return lock(path, new OwnedFd(number, "disk image " + path), readOnly);
    }

    private static ImageFile lock(Path path, OwnedFd fd, boolean readOnly) throws IOException {
        int raw = fd.get();
        try {
            int result = Libc.flock(
                    raw, (readOnly ? LinuxHeaders.LOCK_SH() : LinuxHeaders.LOCK_EX()) | LinuxHeaders.LOCK_NB());
            if (result == -LinuxHeaders.EWOULDBLOCK()) {
                throw new IOException("disk image " + path + " is in use: another VM or process holds a lock on it ("
                        + (readOnly ? "it is open for writing" : "it is open elsewhere")
                        + "); close that first, or use a copy");
            }
            if (result < 0) {
                throw new IOException("cannot lock disk image " + path + ": " + Errno.describe(-result));
            }
            return new ImageFile(path, fd, readOnly);
        } catch (IOException | RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    /** {@return the path it was opened by} */
    Path path() {
        return path;
    }

    boolean isReadOnly() {
        return readOnly;
    }

    /** {@return the file's size now (of the file opened, even if the path was replaced meanwhile)} */
    long size() throws IOException {
        return Files.size(Path.of("/proc/self/fd/" + fd.get()));
    }

    /** Fills {@code [offset, offset + length)} of {@code dst} from the file at {@code position}, or throws. */
    void read(long position, MemorySegment dst, long offset, long length) throws IOException {
        Objects.checkFromIndexSize(offset, length, dst.byteSize());
        if (!dst.isNative()) {
            // The kernel needs native memory: bounce a heap buffer (metadata, test data) through a native one.
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment bounce = arena.allocate(Math.max(1, length));
                read(position, bounce, 0, length);
                MemorySegment.copy(bounce, 0, dst, offset, length);
            }
            return;
        }
        long done = 0;
        while (done < length) {
            long n = Libc.pread(fd.get(), dst, offset + done, length - done, position + done);
            if (n < 0 && n != -LinuxHeaders.EINTR()) {
                throw new IOException(
                        "reading image " + path + " at " + (position + done) + ": " + Errno.describe((int) -n));
            }
            if (n == 0) {
                throw new InvalidImageException(
                        path,
                        "it ends at byte " + (position + done) + ", where " + (length - done)
                                + " more bytes were expected (a table or cluster points past its end, or it shrank while in use)");
            }
            done += Math.max(n, 0);
        }
    }

    /** Writes {@code [offset, offset + length)} of {@code src} to the file at {@code position}, or throws. */
    void write(long position, MemorySegment src, long offset, long length) throws IOException {
        if (readOnly) {
            throw new IOException("image " + path + " is open read-only");
        }
        Objects.checkFromIndexSize(offset, length, src.byteSize());
        if (!src.isNative()) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment bounce = arena.allocate(Math.max(1, length));
                MemorySegment.copy(src, offset, bounce, 0, length);
                write(position, bounce, 0, length);
            }
            return;
        }
        long done = 0;
        while (done < length) {
            long n = Libc.pwrite(fd.get(), src, offset + done, length - done, position + done);
            if (n < 0 && n != -LinuxHeaders.EINTR()) {
                throw new IOException(
                        "writing image " + path + " at " + (position + done) + ": " + Errno.describe((int) -n));
            }
            if (n == 0) {
                throw new IOException("writing image " + path + " at " + (position + done) + ": nothing was written");
            }
            done += Math.max(n, 0);
        }
    }

    /** {@return {@code length} bytes of the file at {@code position}} */
    byte[] readBytes(long position, int length) throws IOException {
        byte[] bytes = new byte[length];
        read(position, MemorySegment.ofArray(bytes), 0, length);
        return bytes;
    }

    /** Writes {@code bytes} at {@code position}. */
    void writeBytes(long position, byte[] bytes) throws IOException {
        write(position, MemorySegment.ofArray(bytes), 0, bytes.length);
    }

    /** Writes {@code value} big-endian at {@code position}. */
    void writeLong(long position, long value) throws IOException {
        writeBytes(position, ByteBuffer.allocate(8).putLong(value).array());
    }

    /** Makes every completed write durable ({@code fsync}); a read-only file has nothing to make durable. */
    void flush() throws IOException {
        if (readOnly) {
            return;
        }
        int result = Libc.fsync(fd.get());
        if (result < 0) {
            throw new IOException("fsync of image " + path + ": " + Errno.describe(-result));
        }
    }

    /** Closes the file, releasing its lock. */
    @Override
    public void close() {
        fd.close(); // closing the last fd of the open file releases the flock
    }

    @Override
    public String toString() {
        return path + (readOnly ? " (read-only)" : "");
    }
}
