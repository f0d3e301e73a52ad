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
 * {@link GuestMemoryException.AddressOverflow}. A zero-length access succeeds and touches nothing, except that
 * {@link #slice(long, long)} needs a region to hold {@code gpa} even then.
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
    /** {@return the regions, sorted by address; the list cannot be modified} */
    List<GuestRegion> regions();

    /** {@return the total size of all regions in bytes} */
    long totalSize();

    /**
     * {@return whether {@code [gpa, gpa + length)} is wholly inside guest memory} Never throws: a negative length or a
     * range that runs past 2^64 - 1 is simply not valid; an empty range always is.
     *
     * @param gpa guest-physical address of the first byte, unsigned
     * @param length in bytes
     */
    boolean isValidRange(long gpa, long length);

    /**
     * Copies from guest memory at {@code gpa} into {@code dst} up to the first gap.
     *
     * @param gpa guest-physical address of the first byte, unsigned
     * @param dst filled from its start, {@code dst.byteSize()} bytes at most; any segment, heap or native
     * @return the bytes copied: {@code dst.byteSize()}, or fewer if guest memory has a gap before the end
     * @throws GuestMemoryException {@link GuestMemoryException.InvalidAddress} if no region holds the byte at
     *     {@code gpa} (and {@code dst} is not empty), {@link GuestMemoryException.AddressOverflow} if the range runs
     *     past 2^64 - 1; nothing is copied then
     */
    long read(long gpa, MemorySegment dst) throws GuestMemoryException;

    /**
     * Copies {@code src} into guest memory at {@code gpa} up to the first gap.
     *
     * @param gpa guest-physical address of the first byte, unsigned
     * @param src copied from its start, all {@code src.byteSize()} bytes if guest memory has no gap
     * @return the bytes copied: {@code src.byteSize()}, or fewer if guest memory has a gap before the end
     * @throws GuestMemoryException {@link GuestMemoryException.InvalidAddress} if no region holds the byte at
     *     {@code gpa} (and {@code src} is not empty), {@link GuestMemoryException.AddressOverflow} if the range runs
     *     past 2^64 - 1; nothing is copied then
     */
    long write(long gpa, MemorySegment src) throws GuestMemoryException;

    /**
     * Fills {@code dst} from guest memory at {@code gpa}, or throws.
     *
     * @param gpa guest-physical address of the first byte, unsigned
     * @param dst filled whole, {@code dst.byteSize()} bytes
     * @throws GuestMemoryException {@link GuestMemoryException.PartialAccess} if guest memory has a gap after
     *     {@code gpa} (the bytes before it are copied), {@link GuestMemoryException.InvalidAddress} if no region holds
     *     {@code gpa} itself, {@link GuestMemoryException.AddressOverflow} if the range runs past 2^64 - 1
     */
    void readFully(long gpa, MemorySegment dst) throws GuestMemoryException;

    /**
     * Copies all of {@code src} into guest memory at {@code gpa}, or throws.
     *
     * @param gpa guest-physical address of the first byte, unsigned
     * @param src copied whole, {@code src.byteSize()} bytes
     * @throws GuestMemoryException {@link GuestMemoryException.PartialAccess} if guest memory has a gap after
     *     {@code gpa} (the bytes before it are written), {@link GuestMemoryException.InvalidAddress} if no region holds
     *     {@code gpa} itself, {@link GuestMemoryException.AddressOverflow} if the range runs past 2^64 - 1
     */
    void writeFully(long gpa, MemorySegment src) throws GuestMemoryException;

    /**
     * Fills {@code dst} from guest memory at {@code gpa}, or throws.
     *
     * @param gpa guest-physical address of the first byte, unsigned
     * @param dst filled whole
     * @throws GuestMemoryException as {@link #readFully(long, MemorySegment)} does
     */
    default void readFully(long gpa, byte[] dst) throws GuestMemoryException {
        readFully(gpa, MemorySegment.ofArray(dst));
    }

    /**
     * Copies all of {@code src} into guest memory at {@code gpa}, or throws.
     *
     * @param gpa guest-physical address of the first byte, unsigned
     * @param src copied whole
     * @throws GuestMemoryException as {@link #writeFully(long, MemorySegment)} does
     */
    default void writeFully(long gpa, byte[] src) throws GuestMemoryException {
        writeFully(gpa, MemorySegment.ofArray(src));
    }

    /**
     * Fills the remaining bytes of {@code dst} from guest memory at {@code gpa} and advances its position, or throws.
     *
     * @param gpa guest-physical address of the first byte, unsigned
     * @param dst its bytes from position to limit are filled; its position moves to its limit only on success
     * @throws GuestMemoryException as {@link #readFully(long, MemorySegment)} does; the position is then unchanged
     */
    default void readFully(long gpa, ByteBuffer dst) throws GuestMemoryException {
        readFully(gpa, MemorySegment.ofBuffer(dst));
        dst.position(dst.limit());
    }

    /**
     * Copies the remaining bytes of {@code src} into guest memory at {@code gpa} and advances its position, or throws.
     *
     * @param gpa guest-physical address of the first byte, unsigned
     * @param src its bytes from position to limit are copied; its position moves to its limit only on success
     * @throws GuestMemoryException as {@link #writeFully(long, MemorySegment)} does; the position is then unchanged
     */
    default void writeFully(long gpa, ByteBuffer src) throws GuestMemoryException {
        writeFully(gpa, MemorySegment.ofBuffer(src));
        src.position(src.limit());
    }

    /**
     * {@return the byte at {@code gpa}}
     *
     * @param gpa guest-physical address, unsigned
     * @throws GuestMemoryException {@link GuestMemoryException.InvalidAddress} if no region holds it
     */
    byte getByte(long gpa) throws GuestMemoryException;

    /**
     * {@return the little-endian 16-bit value at {@code gpa}}
     *
     * @param gpa guest-physical address of the first byte, unsigned; any alignment, and the value may cross from one
     *     region into the next
     * @throws GuestMemoryException {@link GuestMemoryException.InvalidAddress} if a byte of it is in no region,
     *     {@link GuestMemoryException.AddressOverflow} if it runs past 2^64 - 1
     */
    short getShort(long gpa) throws GuestMemoryException;

    /**
     * {@return the little-endian 32-bit value at {@code gpa}}
     *
     * @param gpa guest-physical address of the first byte, unsigned; any alignment, and the value may cross from one
     *     region into the next
     * @throws GuestMemoryException {@link GuestMemoryException.InvalidAddress} if a byte of it is in no region,
     *     {@link GuestMemoryException.AddressOverflow} if it runs past 2^64 - 1
     */
    int getInt(long gpa) throws GuestMemoryException;

    /**
     * {@return the little-endian 64-bit value at {@code gpa}}
     *
     * @param gpa guest-physical address of the first byte, unsigned; any alignment, and the value may cross from one
     *     region into the next
     * @throws GuestMemoryException {@link GuestMemoryException.InvalidAddress} if a byte of it is in no region,
     *     {@link GuestMemoryException.AddressOverflow} if it runs past 2^64 - 1
     */
    long getLong(long gpa) throws GuestMemoryException;

    /**
     * Stores {@code value} at {@code gpa}.
     *
     * @param gpa guest-physical address, unsigned
     * @param value the byte to store
     * @throws GuestMemoryException {@link GuestMemoryException.InvalidAddress} if no region holds it
     */
    void putByte(long gpa, byte value) throws GuestMemoryException;

    /**
     * Stores {@code value} little-endian at {@code gpa}.
     *
     * @param gpa guest-physical address of the first byte, unsigned; any alignment, and the value may cross from one
     *     region into the next
     * @param value the value to store
     * @throws GuestMemoryException {@link GuestMemoryException.InvalidAddress} if a byte of it is in no region,
     *     {@link GuestMemoryException.AddressOverflow} if it runs past 2^64 - 1; no byte is written then
     */
    void putShort(long gpa, short value) throws GuestMemoryException;

    /**
     * Stores {@code value} little-endian at {@code gpa}.
     *
     * @param gpa guest-physical address of the first byte, unsigned; any alignment, and the value may cross from one
     *     region into the next
     * @param value the value to store
     * @throws GuestMemoryException {@link GuestMemoryException.InvalidAddress} if a byte of it is in no region,
     *     {@link GuestMemoryException.AddressOverflow} if it runs past 2^64 - 1; no byte is written then
     */
    void putInt(long gpa, int value) throws GuestMemoryException;

    /**
     * Stores {@code value} little-endian at {@code gpa}.
     *
     * @param gpa guest-physical address of the first byte, unsigned; any alignment, and the value may cross from one
     *     region into the next
     * @param value the value to store
     * @throws GuestMemoryException {@link GuestMemoryException.InvalidAddress} if a byte of it is in no region,
     *     {@link GuestMemoryException.AddressOverflow} if it runs past 2^64 - 1; no byte is written then
     */
    void putLong(long gpa, long value) throws GuestMemoryException;

    /**
     * {@return the 16-bit value at {@code gpa} (2-byte aligned), read with acquire semantics} Pairs with
     * {@link #putShortRelease(long, short)}; little-endian, as every accessor here.
     *
     * @param gpa guest-physical address, unsigned, a multiple of 2
     * @throws GuestMemoryException {@link GuestMemoryException.Misaligned} if {@code gpa} is odd,
     *     {@link GuestMemoryException.InvalidAddress} if no region holds it
     */
    short getShortAcquire(long gpa) throws GuestMemoryException;

    /**
     * Stores the 16-bit {@code value} at {@code gpa} (2-byte aligned) with release semantics.
     *
     * @param gpa guest-physical address, unsigned, a multiple of 2
     * @param value stored little-endian; readers pair this with {@link #getShortAcquire(long)}
     * @throws GuestMemoryException {@link GuestMemoryException.Misaligned} if {@code gpa} is odd,
     *     {@link GuestMemoryException.InvalidAddress} if no region holds it; nothing is stored then
     */
    void putShortRelease(long gpa, short value) throws GuestMemoryException;

    /**
     * {@return the 32-bit value at {@code gpa} (4-byte aligned), read with acquire semantics} Pairs with
     * {@link #putIntRelease(long, int)}; little-endian.
     *
     * @param gpa guest-physical address, unsigned, a multiple of 4
     * @throws GuestMemoryException {@link GuestMemoryException.Misaligned} if {@code gpa} is not a multiple of 4,
     *     {@link GuestMemoryException.InvalidAddress} if no region holds it
     */
    int getIntAcquire(long gpa) throws GuestMemoryException;

    /**
     * Stores the 32-bit {@code value} at {@code gpa} (4-byte aligned) with release semantics.
     *
     * @param gpa guest-physical address, unsigned, a multiple of 4
     * @param value stored little-endian; readers pair this with {@link #getIntAcquire(long)}
     * @throws GuestMemoryException {@link GuestMemoryException.Misaligned} if {@code gpa} is not a multiple of 4,
     *     {@link GuestMemoryException.InvalidAddress} if no region holds it; nothing is stored then
     */
    void putIntRelease(long gpa, int value) throws GuestMemoryException;

    /**
     * {@return the 32-bit value at {@code gpa} (4-byte aligned), read with volatile semantics} Pairs with
     * {@link #putIntVolatile(long, int)}; little-endian.
     *
     * @param gpa guest-physical address, unsigned, a multiple of 4
     * @throws GuestMemoryException {@link GuestMemoryException.Misaligned} if {@code gpa} is not a multiple of 4,
     *     {@link GuestMemoryException.InvalidAddress} if no region holds it
     */
    int getIntVolatile(long gpa) throws GuestMemoryException;

    /**
     * Stores the 32-bit {@code value} at {@code gpa} (4-byte aligned) with volatile semantics.
     *
     * @param gpa guest-physical address, unsigned, a multiple of 4
     * @param value stored little-endian; readers pair this with {@link #getIntVolatile(long)}
     * @throws GuestMemoryException {@link GuestMemoryException.Misaligned} if {@code gpa} is not a multiple of 4,
     *     {@link GuestMemoryException.InvalidAddress} if no region holds it; nothing is stored then
     */
    void putIntVolatile(long gpa, int value) throws GuestMemoryException;

    /**
     * {@return the 64-bit value at {@code gpa} (8-byte aligned), read with acquire semantics} Pairs with
     * {@link #putLongRelease(long, long)}; little-endian.
     *
     * @param gpa guest-physical address, unsigned, a multiple of 8
     * @throws GuestMemoryException {@link GuestMemoryException.Misaligned} if {@code gpa} is not a multiple of 8,
     *     {@link GuestMemoryException.InvalidAddress} if no region holds it
     */
    long getLongAcquire(long gpa) throws GuestMemoryException;

    /**
     * Stores the 64-bit {@code value} at {@code gpa} (8-byte aligned) with release semantics.
     *
     * @param gpa guest-physical address, unsigned, a multiple of 8
     * @param value stored little-endian; readers pair this with {@link #getLongAcquire(long)}
     * @throws GuestMemoryException {@link GuestMemoryException.Misaligned} if {@code gpa} is not a multiple of 8,
     *     {@link GuestMemoryException.InvalidAddress} if no region holds it; nothing is stored then
     */
    void putLongRelease(long gpa, long value) throws GuestMemoryException;

    /**
     * Atomically sets the 32-bit value at {@code gpa} (4-byte aligned) to {@code value} if it is {@code expected}, with
     * volatile semantics.
     *
     * @param gpa guest-physical address, unsigned, a multiple of 4
     * @param expected the value the memory must hold, compared as a little-endian 32-bit value
     * @param value the value to store if it does, little-endian
     * @return whether the value was stored
     * @throws GuestMemoryException {@link GuestMemoryException.Misaligned} if {@code gpa} is not a multiple of 4,
     *     {@link GuestMemoryException.InvalidAddress} if no region holds it
     */
    boolean compareAndSetInt(long gpa, int expected, int value) throws GuestMemoryException;

    /**
     * {@return a view of {@code [gpa, gpa + length)}, which must lie in one region} Reads and writes through it reach
     * guest memory directly; it stays valid as long as the memory does. It owns nothing: closing the memory
     * invalidates it.
     *
     * @param gpa guest-physical address of the first byte, unsigned; a region must hold it, even for an empty view
     * @param length in bytes
     * @throws GuestMemoryException {@link GuestMemoryException.InvalidAddress} if a byte of the range is in no
     *     region, {@link GuestMemoryException.PartialAccess} if the range is in guest memory but crosses from one
     *     region into the next (use {@link #slices(long, long)}), {@link GuestMemoryException.AddressOverflow} if
     *     {@code length} is negative or the range runs past 2^64 - 1
     */
    MemorySegment slice(long gpa, long length) throws GuestMemoryException;

    /**
     * {@return views of {@code [gpa, gpa + length)}, one per region it crosses, in order} Empty for an empty range.
     * Like {@link #slice(long, long)}'s, the views own nothing.
     *
     * @param gpa guest-physical address of the first byte, unsigned
     * @param length in bytes
     * @throws GuestMemoryException {@link GuestMemoryException.InvalidAddress} if a byte of the range is in no
     *     region, {@link GuestMemoryException.AddressOverflow} if {@code length} is negative or the range runs past
     *     2^64 - 1
     */
    List<MemorySegment> slices(long gpa, long length) throws GuestMemoryException;

    /**
     * Gives the host back the memory behind {@code [gpa, gpa + length)} (both page-aligned), as a balloon does with
     * the pages its driver inflates: the guest reads them as zero afterwards, and the host gets the memory back until
     * the guest touches them again. Memory the VMM cannot give back (a file's, or borrowed memory) is left as it is.
     * The default implementation gives nothing back: it only checks that the range is in guest memory and returns 0.
     *
     * @param gpa guest-physical address of the first byte, a multiple of 4 KiB
     * @param length in bytes, a multiple of 4 KiB
     * @return the bytes given back
     * @throws GuestMemoryException if the range is not inside guest memory
     * @throws IllegalArgumentException if {@code gpa} or {@code length} is not a multiple of 4 KiB (the default
     *     implementation does not check this)
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
     * @param file read with positioned reads; its own position is neither used nor changed
     * @param position the file offset to read from, not negative
     * @param gpa guest-physical address of the first byte, unsigned; the range may cross regions
     * @param length in bytes
     * @return the bytes read: fewer than {@code length} only at end of file
     * @throws IOException if reading fails; what was read before stays in guest memory
     * @throws GuestMemoryException if a byte of the range is in no region, or the range runs past 2^64 - 1; checked
     *     before anything is read
     * @throws IllegalArgumentException if {@code position} is negative
     */
    long readFrom(FileChannel file, long position, long gpa, long length) throws IOException, GuestMemoryException;

    /**
     * Writes {@code length} bytes of guest memory at {@code gpa} straight to {@code file} at {@code position}.
     *
     * @param file written with positioned writes; its own position is neither used nor changed
     * @param position the file offset to write at, not negative; the file grows as needed
     * @param gpa guest-physical address of the first byte, unsigned; the range may cross regions
     * @param length in bytes, all of them written
     * @throws IOException if writing fails; what was written before stays in the file
     * @throws GuestMemoryException if a byte of the range is in no region, or the range runs past 2^64 - 1; checked
     *     before anything is written
     * @throws IllegalArgumentException if {@code position} is negative
     */
    void writeTo(FileChannel file, long position, long gpa, long length) throws IOException, GuestMemoryException;
}
