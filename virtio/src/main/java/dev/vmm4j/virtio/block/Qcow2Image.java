// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A qcow2 image, versions 2 and 3 (qemu's docs/interop/qcow2.txt): guest offsets map through the L1 table and L2
 * tables to host clusters; unallocated clusters read from the backing file (raw or qcow2, opened read-only, its path
 * relative to the image's directory) or as zeros; zero clusters (v3) read as zeros; compressed clusters (deflate) are
 * inflated on read. Writes allocate clusters through {@link Qcow2Refcounts} and copy on write what is shared,
 * compressed, zero or in the backing file.
 *
 * <h2>Crash consistency</h2>
 * Every metadata change is written through at once, ordered so that the image is consistent after the writer dies
 * between any two writes: a new cluster's refcount, then its data, then the L2 entry that points at it (and a new L2
 * table's refcount, then its zeroed contents, then its L1 entry); a freed cluster's L2 entry is cleared before its
 * refcount drops. A crash can leak clusters, never point at unwritten ones. {@link #flush()} is {@code fsync}: what was
 * written before it survives a power loss too. (Between flushes the kernel may write pages back in any order, as with
 * qemu's writeback cache; a power loss there can lose or leak, as it can with qemu.)
 *
 * <h2>The image is hostile</h2>
 * Every header field, table entry and offset is checked before use (see {@link Qcow2Header}); metadata tables are
 * bounded by qemu's limits; backing chains end after {@link #MAX_BACKING_DEPTH} files and may not loop; data is never
 * written over a cluster that holds metadata or that another reference shares. Whatever is wrong is an
 * {@link InvalidImageException} naming it. Unsupported features (encryption, external data files, extended L2 entries,
 * zstd, unknown incompatible bits) are refused at open. An image marked dirty (lazy refcounts after a crash) or
 * corrupt opens read-only only.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; transfers are serialised.
 */
public final class Qcow2Image implements DiskImage {
    /** Host offsets in L1, L2 and refcount table entries: bits 9 to 55. */
    static final long OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;

    static final long COPIED = 1L << 63;
    static final long COMPRESSED = 1L << 62;
    static final long ZERO = 1L;
    /** Backing files deeper than this are refused (qemu allows about as many). */
    public static final int MAX_BACKING_DEPTH = 16;

    private static final int CACHED_L2_TABLES = 64;

    private final ImageFile file;
    private final Qcow2Header header;
    private final long clusterSize;
    private final long[] l1;
    private final ClusterSet metadata;
    private final Qcow2Refcounts refcounts;
    private final DiskImage backing;
    private final Map<Long, long[]> l2Cache = new LinkedHashMap<>(CACHED_L2_TABLES, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, long[]> eldest) {
            return size() > CACHED_L2_TABLES;
        }
    };
    private long fileSize;
    // The last L2 table used, so that the common case looks up no map (and boxes no key).
    private long lastL2Offset = -1;
    private long[] lastL2;
    private long inflatedEntry = -1;
    private final byte[] inflated;

    private Qcow2Image(
            ImageFile file,
            Qcow2Header header,
            long[] l1,
            ClusterSet metadata,
            Qcow2Refcounts refcounts,
            DiskImage backing,
            long fileSize) {
        this.file = file;
        this.header = header;
        this.clusterSize = header.clusterSize();
        this.l1 = l1;
        this.metadata = metadata;
        this.refcounts = refcounts;
        this.backing = backing;
        this.fileSize = fileSize;
        this.inflated = new byte[(int) clusterSize];
    }

    /**
     * Opens and locks the qcow2 image {@code path} (see {@link ImageFile}), and its backing chain read-only.
     *
     * @param path the image file, or {@code /proc/self/fd/N} to use inherited fd N (see {@link RawDiskImage#open})
     * @param readOnly whether to open it read-only and lock it shared, rather than read-write and exclusive; an image
     *     marked dirty or corrupt opens only read-only
     * @return the open image, which the caller owns and must close (closing it closes its backing chain)
     * @throws InvalidImageException if it is not a usable qcow2 image; the message says why
     * @throws IOException if it cannot be opened or is locked by another VM
     */
    public static Qcow2Image open(Path path, boolean readOnly) throws IOException {
        return of(ImageFile.open(path, readOnly), 0, new HashSet<>());
    }

    /** The qcow2 image in {@code file}, which it then owns; {@code chain} holds the images above it, for loops. */
    static Qcow2Image of(ImageFile file, int depth, Set<Path> chain) throws IOException {
        try {
            return load(file, depth, chain);
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static Qcow2Image load(ImageFile file, int depth, Set<Path> chain) throws IOException {
        Path path = file.path();
        long fileSize = file.size();
        byte[] first = file.readBytes(0, (int) Math.min(fileSize, 1 << Qcow2Header.MAX_CLUSTER_BITS));
        Qcow2Header header = Qcow2Header.parse(path, first, fileSize);
        if (!file.isReadOnly()) {
            if ((header.incompatibleFeatures() & Qcow2Header.INCOMPAT_DIRTY) != 0) {
                throw new InvalidImageException(
                        path,
                        "it was not closed cleanly while using lazy refcounts (dirty bit set);"
                                + " repair it with qemu-img check -r all, or open it read-only");
            }
            if ((header.incompatibleFeatures() & Qcow2Header.INCOMPAT_CORRUPT) != 0) {
                throw new InvalidImageException(
                        path, "it is marked corrupt; repair it with qemu-img check -r all, or open it read-only");
            }
        }
        long clusterSize = header.clusterSize();
        ClusterSet metadata = new ClusterSet();
        metadata.add(0L);
        ByteBuffer l1Bytes = ByteBuffer.wrap(file.readBytes(header.l1TableOffset(), 8 * header.l1Size()));
        long[] l1 = new long[header.l1Size()];
        for (int c = 0; c < (8L * header.l1Size() + clusterSize - 1) / clusterSize; c++) {
            metadata.add((header.l1TableOffset() >> header.clusterBits()) + c);
        }
        for (int i = 0; i < l1.length; i++) {
            l1[i] = l1Bytes.getLong(8 * i);
            long offset = l1[i] & OFFSET_MASK;
            if (offset % clusterSize != 0
                    || offset > fileSize - clusterSize
                    || (offset == 0 && (l1[i] & COPIED) != 0)) {
                throw new InvalidImageException(
                        path,
                        String.format(
                                Locale.ROOT,
                                "L1 entry %d (%#x) is not a cluster-aligned L2 table inside the file",
                                i,
                                l1[i]));
            }
            if (offset != 0) {
                metadata.add(offset >> header.clusterBits());
            }
        }
        Qcow2Refcounts refcounts = Qcow2Refcounts.load(file, header, fileSize, metadata);
        DiskImage backing = header.hasBackingFile() ? Qcow2Backing.open(path, header, depth, chain) : null;
        Qcow2Image image = new Qcow2Image(file, header, l1, metadata, refcounts, backing, fileSize);
        if (!file.isReadOnly() && header.version() == 3 && header.autoclearFeatures() != 0) {
            // The spec: software that writes an image must clear the autoclear bits it does not maintain (bitmaps).
            file.writeLong(Qcow2Header.AUTOCLEAR_FEATURES_OFFSET, 0);
        }
        return image;
    }

    /**
     * Creates a qcow2 (version 3) image of {@code sizeBytes} at {@code path}, which must not exist: 64 KiB clusters,
     * 16-bit refcounts, optionally over {@code backingFile} (stored as given; a relative name is resolved against the
     * new image's directory) of format {@code backingFormat} ({@code "raw"} or {@code "qcow2"}).
     *
     * @param path where the image goes; it must not exist
     * @param sizeBytes the disk's size as the guest sees it, 0 to 2^51 (2 PiB: with 64 KiB clusters, what qemu's
     *     largest L1 table, 32 MiB, maps; opening refuses more); not rounded to sectors, so make it a multiple of 512
     *     for the whole disk to be visible
     * @param backingFile the image the new one reads unallocated clusters from, or null for none; not opened or checked
     *     here
     * @param backingFormat the backing file's format, written to the header as given (opening the image refuses
     *     anything but {@code "raw"} and {@code "qcow2"}); null means {@code "raw"}; ignored without a backing file
     * @throws IllegalArgumentException if {@code sizeBytes} is out of range, or the backing file's name is longer
     *     than 1023 bytes
     * @throws IOException if {@code path} exists ({@link java.nio.file.FileAlreadyExistsException}) or cannot be
     *     written
     */
    public static void create(Path path, long sizeBytes, Path backingFile, String backingFormat) throws IOException {
        Qcow2Creation.write(path, sizeBytes, backingFile, backingFormat);
    }

    @Override
    public long sizeBytes() {
        return header.size();
    }

    @Override
    public boolean isReadOnly() {
        return file.isReadOnly();
    }

    /** {@return the size of the image's clusters, the unit of allocation and of {@link #discard}} */
    public long clusterSize() {
        return clusterSize;
    }

    @Override
    public synchronized void read(long position, MemorySegment dst, long offset, long length) throws IOException {
        checkRange(position, length);
        Objects.checkFromIndexSize(offset, length, dst.byteSize());
        long done = 0;
        while (done < length) {
            long guest = position + done;
            long inCluster = guest & (clusterSize - 1);
            long n = Math.min(length - done, clusterSize - inCluster);
            readCluster(guest, dst, offset + done, n);
            done += n;
        }
    }

    private void readCluster(long guest, MemorySegment dst, long at, long n) throws IOException {
        long entry = l2Entry(guest);
        long inCluster = guest & (clusterSize - 1);
        if ((entry & COMPRESSED) != 0) {
            inflate(entry);
            MemorySegment.copy(MemorySegment.ofArray(inflated), inCluster, dst, at, n);
        } else if (header.version() == 3 && (entry & ZERO) != 0) {
            dst.asSlice(at, n).fill((byte) 0);
        } else if ((entry & OFFSET_MASK) == 0) {
            readUnallocated(guest, dst, at, n);
        } else {
            long host = dataCluster(guest, entry);
            file.read(host + inCluster, dst, at, n);
        }
    }

    /** An unallocated cluster: the backing file's bytes where it has them, zeros past its end or without one. */
    private void readUnallocated(long guest, MemorySegment dst, long at, long n) throws IOException {
        long fromBacking = backing == null ? 0 : Math.max(0, Math.min(n, backing.sizeBytes() - guest));
        if (fromBacking > 0) {
            backing.read(guest, dst, at, fromBacking);
        }
        if (fromBacking < n) {
            dst.asSlice(at + fromBacking, n - fromBacking).fill((byte) 0);
        }
    }

    /** {@return the host offset of a standard L2 entry's cluster, checked} */
    private long dataCluster(long guest, long entry) throws InvalidImageException {
        long host = entry & OFFSET_MASK;
        if (host % clusterSize != 0) {
            throw corrupt(guest, entry, "is not cluster-aligned");
        }
        return host;
    }

    private void inflate(long entry) throws IOException {
        if (entry == inflatedEntry) {
            return;
        }
        int offsetBits = 62 - (header.clusterBits() - 8);
        long host = entry & ((1L << offsetBits) - 1);
        long sectors = ((entry & ~COPIED & ~COMPRESSED) >>> offsetBits) + 1;
        long length = Math.min(sectors * 512 - (host & 511), fileSize - host);
        if (host <= 0 || length <= 0 || length > 2 * clusterSize) {
            throw new InvalidImageException(
                    file.path(),
                    String.format(Locale.ROOT, "compressed cluster entry %#x points outside the file", entry));
        }
        byte[] compressed = file.readBytes(host, (int) length);
        Inflater inflater = new Inflater(true); // raw deflate, as qemu writes it
        try {
            inflater.setInput(compressed);
            int produced = 0;
            while (produced < inflated.length && !inflater.finished()) {
                int n = inflater.inflate(inflated, produced, inflated.length - produced);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
                produced += n;
            }
            if (produced != inflated.length) {
                inflatedEntry = -1;
                throw new InvalidImageException(
                        file.path(),
                        String.format(
                                Locale.ROOT,
                                "compressed cluster at %#x inflates to %d bytes, not a cluster of %d",
                                host,
                                produced,
                                clusterSize));
            }
        } catch (DataFormatException e) {
            inflatedEntry = -1;
            throw new InvalidImageException(
                    file.path(),
                    String.format(
                            Locale.ROOT,
                            "compressed cluster at %#x is not valid deflate data: %s",
                            host,
                            e.getMessage()));
        } finally {
            inflater.end();
        }
        inflatedEntry = entry;
    }

    /** {@return the L2 entry for guest offset {@code guest}, 0 if its L2 table is unallocated} */
    private long l2Entry(long guest) throws IOException {
        int l1Index = l1Index(guest);
        long table = l1[l1Index] & OFFSET_MASK;
        if (table == 0) {
            return 0;
        }
        return l2Table(table)[l2Index(guest)];
    }

    private long[] l2Table(long offset) throws IOException {
        if (offset == lastL2Offset) {
            return lastL2;
        }
        long[] table = l2Cache.get(offset);
        if (table == null) {
            ByteBuffer bytes = ByteBuffer.wrap(file.readBytes(offset, (int) clusterSize));
            table = new long[header.l2Entries()];
            for (int i = 0; i < table.length; i++) {
                table[i] = bytes.getLong(8 * i);
            }
            l2Cache.put(offset, table);
        }
        lastL2Offset = offset;
        lastL2 = table;
        return table;
    }

    private int l1Index(long guest) {
        return (int) (guest >>> (header.clusterBits() + header.clusterBits() - 3));
    }

    private int l2Index(long guest) {
        return (int) ((guest >>> header.clusterBits()) & (header.l2Entries() - 1));
    }

    @Override
    public synchronized void write(long position, MemorySegment src, long offset, long length) throws IOException {
        if (file.isReadOnly()) {
            throw new IOException("disk image " + file.path() + " is read-only");
        }
        checkRange(position, length);
        Objects.checkFromIndexSize(offset, length, src.byteSize());
        long done = 0;
        while (done < length) {
            long guest = position + done;
            long inCluster = guest & (clusterSize - 1);
            long n = Math.min(length - done, clusterSize - inCluster);
            writeCluster(guest, src, offset + done, n);
            done += n;
        }
    }

    private void writeCluster(long guest, MemorySegment src, long at, long n) throws IOException {
        long tableOffset = writableL2Table(guest);
        long[] table = l2Table(tableOffset);
        int index = l2Index(guest);
        long entry = table[index];
        long inCluster = guest & (clusterSize - 1);
        boolean standard = (entry & COMPRESSED) == 0 && !(header.version() == 3 && (entry & ZERO) != 0);
        long host = standard ? dataCluster(guest, entry) : 0;
        if (host != 0 && ownedByThisEntry(guest, entry, host)) {
            file.write(host + inCluster, src, at, n); // in place: the cluster is this entry's alone
            return;
        }
        // Copy on write: a fresh cluster gets the old contents (backing, zeros, compressed or shared data) and the new
        // bytes.
        long fresh = refcounts.allocate() << header.clusterBits();
        if (n == clusterSize) {
            file.write(fresh, src, at, n);
        } else {
            byte[] cluster = new byte[(int) clusterSize];
            MemorySegment old = MemorySegment.ofArray(cluster);
            readCluster(guest & ~(clusterSize - 1), old, 0, clusterSize);
            MemorySegment.copy(src, at, old, inCluster, n);
            file.writeBytes(fresh, cluster);
        }
        fileSize = Math.max(fileSize, fresh + clusterSize);
        setL2Entry(tableOffset, table, index, fresh | COPIED);
        releaseData(entry);
    }

    /** {@return whether the cluster at {@code host} may be written in place: this entry's only, and not metadata} */
    private boolean ownedByThisEntry(long guest, long entry, long host) throws IOException {
        long cluster = host >> header.clusterBits();
        if (metadata.contains(cluster)) {
            throw corrupt(guest, entry, "points at the image's metadata");
        }
        long count = refcounts.get(cluster);
        if (count == 0) {
            throw corrupt(guest, entry, "points at a cluster whose refcount is 0");
        }
        return count == 1;
    }

    /** Drops the references the old entry of a rewritten or discarded cluster held. */
    private void releaseData(long entry) throws IOException {
        if ((entry & COMPRESSED) != 0) {
            int offsetBits = 62 - (header.clusterBits() - 8);
            long host = entry & ((1L << offsetBits) - 1);
            long sectors = ((entry & ~COPIED & ~COMPRESSED) >>> offsetBits) + 1;
            long last = host + sectors * 512 - (host & 511) - 1;
            for (long cluster = host >> header.clusterBits(); cluster <= last >> header.clusterBits(); cluster++) {
                refcounts.release(cluster);
            }
            if (entry == inflatedEntry) {
                inflatedEntry = -1;
            }
            return;
        }
        long host = entry & OFFSET_MASK;
        if (host != 0) {
            refcounts.release(host >> header.clusterBits());
        }
    }

    /** {@return the offset of the L2 table for {@code guest}, allocated (or copied, if shared) so it can be written} */
    private long writableL2Table(long guest) throws IOException {
        int l1Index = l1Index(guest);
        long old = l1[l1Index] & OFFSET_MASK;
        if (old != 0) {
            long count = refcounts.get(old >> header.clusterBits());
            if (count == 1) {
                return old;
            }
            if (count == 0) {
                throw new InvalidImageException(
                        file.path(), "L2 table at " + old + " has refcount 0; run qemu-img check -r all");
            }
        }
        // A new table, or a private copy of one a snapshot shares: counted, written, then made live in the L1 table.
        long fresh = refcounts.allocate() << header.clusterBits();
        metadata.add(fresh >> header.clusterBits());
        long[] entries = new long[header.l2Entries()];
        if (old != 0) {
            long[] shared = l2Table(old);
            for (int i = 0; i < entries.length; i++) {
                // The data clusters' refcounts already count the snapshot's view and ours (qemu counts per L1
                // tree), so they stay; they are shared, so the copy marks none of them as ours alone.
                entries[i] = shared[i] & ~COPIED;
            }
        }
        ByteBuffer bytes = ByteBuffer.allocate((int) clusterSize);
        for (long entry : entries) {
            bytes.putLong(entry);
        }
        file.writeBytes(fresh, bytes.array());
        fileSize = Math.max(fileSize, fresh + clusterSize);
        l2Cache.put(fresh, entries);
        l1[l1Index] = fresh | COPIED;
        file.writeLong(header.l1TableOffset() + 8L * l1Index, l1[l1Index]);
        if (old != 0) {
            refcounts.release(old >> header.clusterBits());
        }
        return fresh;
    }

    private void setL2Entry(long tableOffset, long[] table, int index, long entry) throws IOException {
        table[index] = entry;
        file.writeLong(tableOffset + 8L * index, entry);
    }

    /**
     * Gives whole clusters in {@code [position, position + length)} back to the image (their space is reused by later
     * writes). They read as zeros afterwards on version 3; a version 2 image with a backing file keeps their data, as
     * it cannot express "zeros over the backing file".
     */
    @Override
    public boolean supportsDiscard() {
        return !file.isReadOnly();
    }

    @Override
    public long discardGranularity() {
        return clusterSize;
    }

    @Override
    public synchronized void discard(long position, long length) throws IOException {
        if (file.isReadOnly()) {
            throw new IOException("disk image " + file.path() + " is read-only");
        }
        checkRange(position, length);
        long first = (position + clusterSize - 1) & ~(clusterSize - 1);
        long end = (position + length) & ~(clusterSize - 1);
        for (long guest = first; guest < end; guest += clusterSize) {
            long tableOffset = l1[l1Index(guest)] & OFFSET_MASK;
            if (tableOffset == 0 && backing == null) {
                continue; // nothing allocated, nothing underneath
            }
            long replacement = header.version() == 3 ? ZERO : backing == null ? 0 : -1;
            if (replacement < 0) {
                continue;
            }
            tableOffset = writableL2Table(guest);
            long[] table = l2Table(tableOffset);
            int index = l2Index(guest);
            long entry = table[index];
            if (entry == replacement) {
                continue;
            }
            setL2Entry(tableOffset, table, index, replacement); // unreferenced first, then freed
            if ((entry & COMPRESSED) != 0 || (entry & OFFSET_MASK) != 0) {
                releaseData(entry);
            }
        }
    }

    @Override
    public void flush() throws IOException {
        file.flush();
    }

    @Override
    public void close() {
        file.close();
        if (backing != null) {
            backing.close();
        }
    }

    private void checkRange(long position, long length) throws IOException {
        DiskImages.checkRange(file.path(), header.size(), position, length);
    }

    private InvalidImageException corrupt(long guest, long entry, String what) {
        return new InvalidImageException(
                file.path(),
                String.format(
                        Locale.ROOT,
                        "the L2 entry for guest offset %#x (%#x) %s; run qemu-img check -r all",
                        guest,
                        entry,
                        what));
    }

    @Override
    public String toString() {
        return "Qcow2Image[" + file.path() + ", v" + header.version() + (file.isReadOnly() ? ", read-only" : "") + ", "
                + header.size() + " bytes" + (backing == null ? "" : ", backed by " + backing) + "]";
    }
}
