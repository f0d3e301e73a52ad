// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.memory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.List;

/**
 * Access to guest-physical memory: reads and writes that may span regions, little-endian scalars, atomics for ring
 * indices, and copies to and from files without an intermediate buffer. It never adds or removes regions: devices
 * and loaders only access memory, and the VMM that made it manages it.
 *
 * <h2>Addresses are hostile</h2>
 * Every address and length may come from the guest. An access that is not wholly inside guest memory fails with a
 * {@link GuestMemoryException} that names the address and the length, and touches nothing outside the regions.
 * Addresses are unsigned 64-bit values; an access that would run past 2^64 - 1 fails with
 * {@link GuestMemoryException.AddressOverflow}. A zero-length access always succeeds and touches nothing.
 *
 * <h2>Partial and full copies</h2>
 * {@link #read(long, MemorySegment)} and {@link #write(long, MemorySegment)} copy up to the first gap and return the
 * count; {@link #readFully(long, MemorySegment)} and {@link #writeFully(long, MemorySegment)} copy everything or
 * throw {@link GuestMemoryException.PartialAccess} (having copied what comes before the gap).
 *
 * <h2>Memory order</h2>
 * Plain accessors ({@link #getShort(long)}, ...) have no ordering. The atomic ones pair as their names say: a
 * {@code *Release} store with an {@code *Acquire} load, {@code *Volatile} with {@code *Volatile}. They need natural
 * alignment and fail with {@link GuestMemoryException.Misaligned} otherwise.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; concurrent plain accesses to the same bytes race as they would
 * in C.
 */
public interface GuestMemory {
    /** {@return the regions, sorted by address} */
    List<GuestRegion> regions();

    /** {@return the total size of all regions in bytes} */
    long totalSize();

    /** {@return whether {@code [gpa, gpa + length)} is wholly inside guest memory} */
    boolean isValidRange(long gpa, long length);

    /**
     * Copies from guest memory at {@code gpa} into {@code dst} up to the first gap.
     *
     * @return the bytes copied
     */
    long read(long gpa, MemorySegment dst) throws GuestMemoryException;

    /**
     * Copies {@code src} into guest memory at {@code gpa} up to the first gap.
     *
     * @return the bytes copied
     */
    long write(long gpa, MemorySegment src) throws GuestMemoryException;

    /** Fills {@code dst} from guest memory at {@code gpa}, or throws. */
    void readFully(long gpa, MemorySegment dst) throws GuestMemoryException;

    /** Copies all of {@code src} into guest memory at {@code gpa}, or throws. */
    void writeFully(long gpa, MemorySegment src) throws GuestMemoryException;

    /** Fills {@code dst} from guest memory at {@code gpa}, or throws. */
    default void readFully(long gpa, byte[] dst) throws GuestMemoryException {
        readFully(gpa, MemorySegment.ofArray(dst));
    }

    /** Copies all of {@code src} into guest memory at {@code gpa}, or throws. */
    default void writeFully(long gpa, byte[] src) throws GuestMemoryException {
        writeFully(gpa, MemorySegment.ofArray(src));
    }

    /** Fills the remaining bytes of {@code dst} from guest memory at {@code gpa} and advances its position, or throws. */
    default void readFully(long gpa, ByteBuffer dst) throws GuestMemoryException {
        readFully(gpa, MemorySegment.ofBuffer(dst));
        dst.position(dst.limit());
    }

    /** Copies the remaining bytes of {@code src} into guest memory at {@code gpa} and advances its position, or throws. */
    default void writeFully(long gpa, ByteBuffer src) throws GuestMemoryException {
        writeFully(gpa, MemorySegment.ofBuffer(src));
        src.position(src.limit());
    }

    byte getByte(long gpa) throws GuestMemoryException;

    /** {@return the little-endian 16-bit value at {@code gpa}} */
    short getShort(long gpa) throws GuestMemoryException;

    /** {@return the little-endian 32-bit value at {@code gpa}} */
    int getInt(long gpa) throws GuestMemoryException;

    /** {@return the little-endian 64-bit value at {@code gpa}} */
    long getLong(long gpa) throws GuestMemoryException;

    void putByte(long gpa, byte value) throws GuestMemoryException;

    /** Stores {@code value} little-endian at {@code gpa}. */
    void putShort(long gpa, short value) throws GuestMemoryException;

    /** Stores {@code value} little-endian at {@code gpa}. */
    void putInt(long gpa, int value) throws GuestMemoryException;

    /** Stores {@code value} little-endian at {@code gpa}. */
    void putLong(long gpa, long value) throws GuestMemoryException;

    /** {@return the 16-bit value at {@code gpa} (2-byte aligned), read with acquire semantics} */
    short getShortAcquire(long gpa) throws GuestMemoryException;

    /** Stores the 16-bit {@code value} at {@code gpa} (2-byte aligned) with release semantics. */
    void putShortRelease(long gpa, short value) throws GuestMemoryException;

    /** {@return the 32-bit value at {@code gpa} (4-byte aligned), read with acquire semantics} */
    int getIntAcquire(long gpa) throws GuestMemoryException;

    /** Stores the 32-bit {@code value} at {@code gpa} (4-byte aligned) with release semantics. */
    void putIntRelease(long gpa, int value) throws GuestMemoryException;

    /** {@return the 32-bit value at {@code gpa} (4-byte aligned), read with volatile semantics} */
    int getIntVolatile(long gpa) throws GuestMemoryException;

    /** Stores the 32-bit {@code value} at {@code gpa} (4-byte aligned) with volatile semantics. */
    void putIntVolatile(long gpa, int value) throws GuestMemoryException;

    /** {@return the 64-bit value at {@code gpa} (8-byte aligned), read with acquire semantics} */
    long getLongAcquire(long gpa) throws GuestMemoryException;

    /** Stores the 64-bit {@code value} at {@code gpa} (8-byte aligned) with release semantics. */
    void putLongRelease(long gpa, long value) throws GuestMemoryException;

    /** Atomically sets the 32-bit value at {@code gpa} (4-byte aligned) to {@code value} if it is {@code expected}. */
    boolean compareAndSetInt(long gpa, int expected, int value) throws GuestMemoryException;

    /**
     * {@return a view of {@code [gpa, gpa + length)}, which must lie in one region} Reads and writes through it reach
     * guest memory directly; it stays valid as long as the memory does.
     */
    MemorySegment slice(long gpa, long length) throws GuestMemoryException;

    /** {@return views of {@code [gpa, gpa + length)}, one per region it crosses, in order} */
    List<MemorySegment> slices(long gpa, long length) throws GuestMemoryException;

    /**
     * Gives the host back the memory behind {@code [gpa, gpa + length)} (both page-aligned), as a balloon does with
     * the pages its driver inflates: the guest reads them as zero afterwards, and the host gets the memory back until
     * the guest touches them again. Memory the VMM cannot give back (a file's, or borrowed memory) is left as it is.
     *
     * @return the bytes given back
     * @throws GuestMemoryException if the range is not inside guest memory
     * @throws IllegalArgumentException if {@code gpa} or {@code length} is not a multiple of 4 KiB
     */
    default long discard(long gpa, long length) throws GuestMemoryException {
        if (!isValidRange(gpa, length)) {
            throw new GuestMemoryException.InvalidAddress(gpa, length, gpa);
        }
        return 0;
    }

    /**
     * Reads {@code length} bytes of {@code file} at {@code position} straight into guest memory at {@code gpa}.
     *
     * @return the bytes read: fewer than {@code length} only at end of file
     */
    long readFrom(FileChannel file, long position, long gpa, long length) throws IOException, GuestMemoryException;

    /** Writes {@code length} bytes of guest memory at {@code gpa} straight to {@code file} at {@code position}. */
    void writeTo(FileChannel file, long position, long gpa, long length) throws IOException, GuestMemoryException;
}
