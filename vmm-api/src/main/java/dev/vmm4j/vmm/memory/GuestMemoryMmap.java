// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.memory;

import static dev.vmm4j.vmm.memory.GuestMemoryException.hex;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.vmm.kvm.MemorySlotFlag;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Guest memory made of host mappings: anonymous memory, memfds, files, or segments the caller owns. Built once with
 * {@link #builder()}, registered with a VM as memory slots by {@link #registerWith(dev.vmm4j.vmm.kvm.Vm,
 * dev.vmm4j.vmm.kvm.MemorySlotFlag...)}, and unmapped by
 * {@link #close()}, after every vCPU and device thread has stopped.
 *
 * <p>Regions are page-aligned, non-empty and do not overlap; one may end at the top of the 64-bit address space.
 *
 * <p><b>Thread safety:</b> safe for concurrent use (see {@link GuestMemory}); {@link #close()} must not race accesses.
 */
public final class GuestMemoryMmap implements GuestMemory, AutoCloseable {
    /** The page size regions are aligned to. */
    public static final long PAGE_SIZE = 4096;

    private static final ValueLayout.OfShort SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SHORT_ATOMIC =
            ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle INT_ATOMIC =
            ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle LONG_ATOMIC =
            ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final Arena arena;
    private final List<OwnedFd> backingFds;
    private final List<GuestRegion> regions;
    // The regions again as parallel arrays, for the lookup every access makes.
    private final long[] starts;
    private final long[] sizes;
    private final MemorySegment[] segments;
    /** Per region, the madvise advice that gives its pages back to the host, or 0 if they cannot be given back. */
    private final int[] discardAdvice;

    private final long totalSize;
    private final List<SharedRegion> shared;

    /** A mapped region, how its pages are given back (see {@link #discard}), and its shareable fd or -1. */
    private record Mapped(GuestRegion region, int discardAdvice, int sharedFd) {}

    /**
     * A region another process can map: {@code size} bytes of guest memory at {@code gpa} are the first {@code size}
     * bytes of the memfd {@code fd}, which is sealed against shrinking and growing. The fd stays the memory's.
     *
     * @param gpa guest-physical address of the region's first byte, page-aligned
     * @param size in bytes, a multiple of {@link #PAGE_SIZE}
     * @param fd the memfd's descriptor, open until the memory is closed; pass on a duplicate, never close it
     */
    public record SharedRegion(long gpa, long size, int fd) {}

    private GuestMemoryMmap(Arena arena, List<OwnedFd> backingFds, List<Mapped> sortedRegions) {
        this.arena = arena;
        this.backingFds = backingFds;
        this.regions = sortedRegions.stream().map(Mapped::region).toList();
        int n = regions.size();
        starts = new long[n];
        sizes = new long[n];
        segments = new MemorySegment[n];
        discardAdvice = new int[n];
        long total = 0;
        List<SharedRegion> shareable = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (sortedRegions.get(i).sharedFd() >= 0) {
                shareable.add(new SharedRegion(
                        regions.get(i).start(),
                        regions.get(i).size(),
                        sortedRegions.get(i).sharedFd()));
            }
            starts[i] = regions.get(i).start();
            sizes[i] = regions.get(i).size();
            segments[i] = regions.get(i).memory();
            discardAdvice[i] = sortedRegions.get(i).discardAdvice();
            total += sizes[i];
        }
        totalSize = total;
        shared = List.copyOf(shareable);
    }

    /** {@return a builder of guest memory} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Collects the regions of a {@link GuestMemoryMmap}; nothing is mapped before {@link #build()}. Single-use, as the
     * memfds given to it become the memory's: once {@link #build()} was called, it refuses more regions and a second
     * build ({@link IllegalStateException}).
     */
    public static final class Builder {
        private sealed interface Source {}

        private record Anonymous(long size) implements Source {}

        private record Memfd(long size, String name) implements Source {}

        private record SharedFd(long size, OwnedFd fd) implements Source {}

        private record MappedFile(Path path, long offset, long size) implements Source {}

        private record Borrowed(MemorySegment memory) implements Source {}

        private record Planned(long start, long size, Source source) {
            long last() {
                return start + size - 1;
            }
        }

        private final List<Planned> planned = new ArrayList<>();
        private boolean built;

        private Builder() {}

        /**
         * Adds {@code size} bytes of private anonymous memory (zeroed, allocated on first touch) at {@code gpa}.
         *
         * @param gpa guest-physical address of the first byte, a multiple of {@link #PAGE_SIZE}
         * @param size in bytes, a positive multiple of {@link #PAGE_SIZE}; reserved lazily, so it may exceed free RAM
         * @return this
         * @throws IllegalArgumentException if {@code gpa} or {@code size} is not page-aligned, {@code size} is not
         *     positive, or the region runs past 2^64 - 1 or overlaps one added before
         * @throws IllegalStateException if {@link #build()} was called
         */
        public Builder anonymous(long gpa, long size) {
            return add(gpa, size, new Anonymous(size));
        }

        /**
         * Adds {@code size} bytes of a new memfd, mapped shared, at {@code gpa}; the memfd is closed with the memory.
         * The memfd is sealed against shrinking and growing, and another process can map it
         * ({@link GuestMemoryMmap#sharedRegions()}).
         *
         * @param gpa guest-physical address of the first byte, a multiple of {@link #PAGE_SIZE}
         * @param size in bytes, a positive multiple of {@link #PAGE_SIZE}
         * @param name the memfd's name, for {@code /proc/<pid>/fd} and errors; the kernel takes at most 249 bytes
         * @return this
         * @throws IllegalArgumentException if {@code gpa} or {@code size} is not page-aligned, {@code size} is not
         *     positive, or the region runs past 2^64 - 1 or overlaps one added before
         * @throws IllegalStateException if {@link #build()} was called
         */
        public Builder memfd(long gpa, long size, String name) {
            Objects.requireNonNull(name, "name");
            return add(gpa, size, new Memfd(size, name));
        }

        /**
         * Adds the first {@code size} bytes of the memfd {@code fd}, mapped shared, at {@code gpa}: guest memory another
         * process made and shares ({@link GuestMemoryMmap#sharedRegions()}). The memory owns {@code fd} from now on.
         * {@link #build()} checks that the memfd is sealed against shrinking and growing (so that no access can fault
         * on a page the file lost, and its size is what both processes think) and holds {@code size} bytes.
         *
         * @param gpa guest-physical address of the first byte, a multiple of {@link #PAGE_SIZE}
         * @param size in bytes, a positive multiple of {@link #PAGE_SIZE}; the first {@code size} bytes of the memfd
         * @param fd the memfd; once this call returns, the memory owns it: closed with the memory, or by
         *     {@link #build()} if that fails (if this call throws, the caller keeps it)
         * @return this
         * @throws IllegalArgumentException if {@code gpa} or {@code size} is not page-aligned, {@code size} is not
         *     positive, or the region runs past 2^64 - 1 or overlaps one added before
         * @throws IllegalStateException if {@link #build()} was called
         */
        public Builder shared(long gpa, long size, OwnedFd fd) {
            Objects.requireNonNull(fd, "fd");
            return add(gpa, size, new SharedFd(size, fd));
        }

        /**
         * Adds {@code size} bytes of {@code file} from {@code offset}, mapped shared (guest writes reach the file), at
         * {@code gpa}. {@link #build()} opens the file read-write and checks that it holds {@code offset + size}
         * bytes; its pages are never discarded.
         *
         * @param gpa guest-physical address of the first byte, a multiple of {@link #PAGE_SIZE}
         * @param file the file to map; it must be readable and writable
         * @param offset the file offset of the first byte, a multiple of {@link #PAGE_SIZE}
         * @param size in bytes, a positive multiple of {@link #PAGE_SIZE}
         * @return this
         * @throws IllegalArgumentException if {@code offset} is negative or not page-aligned, {@code gpa} or
         *     {@code size} is not page-aligned, {@code size} is not positive, or the region runs past 2^64 - 1 or
         *     overlaps one added before
         * @throws IllegalStateException if {@link #build()} was called
         */
        public Builder file(long gpa, Path file, long offset, long size) {
            Objects.requireNonNull(file, "file");
            if (offset < 0 || offset % PAGE_SIZE != 0) {
                throw new IllegalArgumentException("file offset must be page-aligned and not negative, got " + offset);
            }
            return add(gpa, size, new MappedFile(file, offset, size));
        }

        /**
         * Adds {@code memory}, which the caller owns and must keep mapped while this memory is used, at {@code gpa}.
         * Its pages are never discarded, and {@link GuestMemoryMmap#close()} leaves it mapped.
         *
         * @param gpa guest-physical address of the first byte, a multiple of {@link #PAGE_SIZE}
         * @param memory native memory at a page-aligned address, a positive multiple of {@link #PAGE_SIZE} bytes long
         * @return this
         * @throws IllegalArgumentException if {@code memory} is a heap segment, empty, or not page-aligned in address or
         *     size, {@code gpa} is not page-aligned, or the region runs past 2^64 - 1 or overlaps one added before
         * @throws IllegalStateException if {@link #build()} was called
         */
        public Builder borrowed(long gpa, MemorySegment memory) {
            Objects.requireNonNull(memory, "memory");
            if (!memory.isNative() || memory.address() % PAGE_SIZE != 0) {
                throw new IllegalArgumentException("borrowed guest memory must be native and page-aligned");
            }
            return add(gpa, memory.byteSize(), new Borrowed(memory));
        }

        private Builder add(long gpa, long size, Source source) {
            if (built) { // a region added now would never be mapped, and a shared fd never closed
                throw new IllegalStateException("this builder already built its guest memory; builders are single-use");
            }
            if (size <= 0 || size % PAGE_SIZE != 0) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "region at %s: size must be a positive multiple of %d, got %d",
                        hex(gpa),
                        PAGE_SIZE,
                        size));
            }
            if (gpa % PAGE_SIZE != 0) {
                throw new IllegalArgumentException("region start " + hex(gpa) + " is not page-aligned");
            }
            if (Long.compareUnsigned(gpa + size - 1, gpa) < 0) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "region at %s of %#x bytes runs past the end of the 64-bit address space",
                        hex(gpa),
                        size));
            }
            Planned region = new Planned(gpa, size, source);
            for (Planned other : planned) {
                if (Long.compareUnsigned(region.start, other.last()) <= 0
                        && Long.compareUnsigned(other.start, region.last()) <= 0) {
                    throw new IllegalArgumentException(String.format(
                            Locale.ROOT,
                            "region [%s, %s] overlaps region [%s, %s]",
                            hex(region.start),
                            hex(region.last()),
                            hex(other.start),
                            hex(other.last())));
                }
            }
            planned.add(region);
            return this;
        }

        /**
         * Maps the regions. If anything fails, what was mapped is unmapped and every memfd, the shared ones included,
         * is closed. Call it once: the shared fds become the memory's, so a second call is refused (two memories
         * sharing them would close them for each other), even after a failed one.
         *
         * @return the memory, which owns the mappings and memfds until {@link GuestMemoryMmap#close()}
         * @throws IllegalStateException if there are no regions, or this builder already built (or tried to)
         * @throws IllegalArgumentException if a file cannot be sized or is shorter than its region needs, or a shared
         *     fd is not a memfd sealed against shrinking and growing or holds fewer bytes than its region
         * @throws dev.vmm4j.kvm.bindings.NativeCallException if a system call fails ({@code mmap}, {@code open},
         *     {@code memfd_create}, {@code ftruncate}, {@code fcntl}), naming the call and its errno
         */
        public GuestMemoryMmap build() {
            if (built) {
                throw new IllegalStateException("this builder already built its guest memory; builders are single-use,"
                        + " because the memfds given to them become the memory's");
            }
            if (planned.isEmpty()) {
                throw new IllegalStateException("guest memory needs at least one region");
            }
            built = true;
            Arena arena = Arena.ofShared();
            List<OwnedFd> fds = new ArrayList<>();
            try {
                List<Mapped> regions = new ArrayList<>();
                for (Planned region : planned) {
                    MemorySegment memory = map(region, arena, fds);
                    int sharedFd = switch (region.source) {
                        case Memfd memfd -> fds.getLast().get();
                        case SharedFd given -> given.fd.get();
                        default -> -1;
                    };
                    regions.add(new Mapped(new GuestRegion(region.start, memory), discardAdvice(region), sharedFd));
                }
                regions.sort(Comparator.comparing(mapped -> mapped.region().start(), Long::compareUnsigned));
                return new GuestMemoryMmap(arena, fds, regions);
            } catch (RuntimeException e) {
                fds.forEach(OwnedFd::close);
                planned.forEach(region -> {
                    if (region.source instanceof SharedFd given) {
                        given.fd.close();
                    }
                });
                arena.close();
                throw e;
            }
        }

        /**
         * Private anonymous pages go back with MADV_DONTNEED (they read as zero afterwards); a memfd's with MADV_REMOVE,
         * which frees its pages (DONTNEED would only unmap them). A file's pages are the user's data, and borrowed
         * memory is not ours: neither is given back.
         */
        private static int discardAdvice(Planned region) {
            return switch (region.source) {
                case Anonymous anonymous -> LinuxHeaders.MADV_DONTNEED();
                case Memfd memfd -> LinuxHeaders.MADV_REMOVE();
                case SharedFd shared -> LinuxHeaders.MADV_REMOVE();
                case MappedFile file -> 0;
                case Borrowed borrowed -> 0;
            };
        }

        private static MemorySegment map(Planned region, Arena arena, List<OwnedFd> fds) {
            int readWrite = LinuxHeaders.PROT_READ() | LinuxHeaders.PROT_WRITE();
            String what = "guest memory at " + hex(region.start);
            return switch (region.source) {
                case Anonymous anonymous ->
                    Libc.mmap(
                            anonymous.size,
                            readWrite,
                            LinuxHeaders.MAP_PRIVATE() | LinuxHeaders.MAP_ANONYMOUS() | LinuxHeaders.MAP_NORESERVE(),
                            -1,
                            0,
                            arena,
                            what);
                case Memfd memfd -> {
                    OwnedFd fd = new OwnedFd(
                            Libc.memfdCreate(memfd.name, LinuxHeaders.MFD_ALLOW_SEALING()), "memfd " + memfd.name);
                    fds.add(fd);
                    Libc.ftruncate(fd.get(), memfd.size);
                    // Sealed, so that a process it is shared with can rely on its size: a shrunk memfd would fault.
                    int seals = LinuxHeaders.F_SEAL_SHRINK() | LinuxHeaders.F_SEAL_GROW() | LinuxHeaders.F_SEAL_SEAL();
                    int sealed = Libc.fcntl(fd.get(), LinuxHeaders.F_ADD_SEALS(), seals);
                    if (sealed < 0) {
                        throw new NativeCallException("fcntl F_ADD_SEALS", -sealed, "sealing memfd " + memfd.name);
                    }
                    yield Libc.mmap(memfd.size, readWrite, LinuxHeaders.MAP_SHARED(), fd.get(), 0, arena, what);
                }
                case MappedFile file -> {
                    long fileSize;
                    try {
                        fileSize = Files.size(file.path);
                    } catch (IOException e) {
                        throw new IllegalArgumentException(
                                "cannot map " + file.path + " as guest memory: " + e.getMessage(), e);
                    }
                    if (fileSize < file.offset + file.size) {
                        throw new IllegalArgumentException(String.format(
                                Locale.ROOT,
                                "%s has %d bytes; mapping %d bytes from offset %d needs %d",
                                file.path,
                                fileSize,
                                file.size,
                                file.offset,
                                file.offset + file.size));
                    }
                    try (OwnedFd fd = new OwnedFd(
                            Libc.open(file.path.toString(), LinuxHeaders.O_RDWR(), ""), file.path.toString())) {
                        yield Libc.mmap(
                                file.size, readWrite, LinuxHeaders.MAP_SHARED(), fd.get(), file.offset, arena, what);
                    }
                }
                case SharedFd given -> {
                    fds.add(given.fd);
                    int seals = Libc.fcntl(given.fd.get(), LinuxHeaders.F_GET_SEALS(), 0);
                    int sizeSeals = LinuxHeaders.F_SEAL_SHRINK() | LinuxHeaders.F_SEAL_GROW();
                    if (seals < 0 || (seals & sizeSeals) != sizeSeals) {
                        throw new IllegalArgumentException(what + ": the shared fd is not a memfd sealed against"
                                + " shrinking and growing (F_GET_SEALS " + seals + ")");
                    }
                    long fileSize = Libc.lseek(given.fd.get(), 0, LinuxHeaders.SEEK_END());
                    if (fileSize < given.size) {
                        throw new IllegalArgumentException(
                                what + ": the shared memfd has " + fileSize + " bytes, not " + given.size);
                    }
                    yield Libc.mmap(given.size, readWrite, LinuxHeaders.MAP_SHARED(), given.fd.get(), 0, arena, what);
                }
                case Borrowed borrowed -> borrowed.memory;
            };
        }
    }

    /**
     * Registers every region with {@code vm} as memory slots 0, 1, ... in address order, with {@code flags}.
     *
     * @param vm the VM, whose slots 0 to {@code regions().size() - 1} should be free
     * @param flags applied to every slot, such as dirty-page logging or read-only
     * @return the number of slots used
     * @throws IllegalArgumentException if a region's last byte is at or above guest-physical 2^63 - 1, which
     *     {@link Vm#setUserMemoryRegion} refuses; the slots registered before it stay registered
     * @throws dev.vmm4j.vmm.kvm.KvmException if KVM refuses a slot, for example because it overlaps one the VM
     *     already has, or read-only slots are asked for and KVM lacks them; the slots registered before it stay
     *     registered
     */
    public int registerWith(Vm vm, MemorySlotFlag... flags) {
        EnumSet<MemorySlotFlag> set = EnumSet.noneOf(MemorySlotFlag.class);
        set.addAll(Arrays.asList(flags));
        for (int slot = 0; slot < regions.size(); slot++) {
            vm.setUserMemoryRegion(slot, starts[slot], segments[slot], set);
        }
        return regions.size();
    }

    /**
     * {@return the regions another process can map (memfd regions), in address order} The fds stay this memory's: a
     * caller that passes them on passes duplicates (as {@code SCM_RIGHTS} does).
     */
    public List<SharedRegion> sharedRegions() {
        return shared;
    }

    @Override
    public List<GuestRegion> regions() {
        return regions;
    }

    @Override
    public long totalSize() {
        return totalSize;
    }

    /** {@return the index of the region holding {@code gpa}, or -1} */
    private int find(long gpa) {
        int lo = 0;
        int hi = starts.length - 1;
        int candidate = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(starts[mid], gpa) <= 0) {
                candidate = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        if (candidate >= 0 && Long.compareUnsigned(gpa - starts[candidate], sizes[candidate]) < 0) {
            return candidate;
        }
        return -1;
    }

    /** @throws GuestMemoryException.AddressOverflow if {@code [gpa, gpa + length)} wraps past 2^64 - 1 */
    private static void checkNoWrap(long gpa, long length) throws GuestMemoryException {
        if (length != 0 && (length < 0 || Long.compareUnsigned(gpa + length - 1, gpa) < 0)) {
            throw new GuestMemoryException.AddressOverflow(gpa, length);
        }
    }

    /** {@return how many bytes of {@code [gpa, gpa + length)}, from its start, regions hold} */
    private long validPrefix(long gpa, long length) {
        long done = 0;
        while (done < length) {
            long address = gpa + done;
            int r = find(address);
            if (r < 0) {
                break;
            }
            done += Math.min(length - done, sizes[r] - (address - starts[r]));
        }
        return done;
    }

    /** @throws GuestMemoryException unless {@code [gpa, gpa + length)} is wholly inside guest memory */
    private void checkRange(long gpa, long length) throws GuestMemoryException {
        checkNoWrap(gpa, length);
        long valid = validPrefix(gpa, length);
        if (valid < length) {
            throw new GuestMemoryException.InvalidAddress(gpa, length, gpa + valid);
        }
    }

    @Override
    public boolean isValidRange(long gpa, long length) {
        if (length == 0) {
            return true;
        }
        if (length < 0 || Long.compareUnsigned(gpa + length - 1, gpa) < 0) {
            return false;
        }
        return validPrefix(gpa, length) == length;
    }

    /** Copies between guest memory and {@code buffer} up to the first gap; {@return the bytes copied}. */
    private long copy(long gpa, MemorySegment buffer, boolean toGuest) throws GuestMemoryException {
        long length = buffer.byteSize();
        checkNoWrap(gpa, length);
        long done = 0;
        while (done < length) {
            long address = gpa + done;
            int r = find(address);
            if (r < 0) {
                if (done == 0) {
                    throw new GuestMemoryException.InvalidAddress(gpa, length, address);
                }
                break;
            }
            long offset = address - starts[r];
            long chunk = Math.min(length - done, sizes[r] - offset);
            if (toGuest) {
                MemorySegment.copy(buffer, done, segments[r], offset, chunk);
            } else {
                MemorySegment.copy(segments[r], offset, buffer, done, chunk);
            }
            done += chunk;
        }
        return done;
    }

    @Override
    public long read(long gpa, MemorySegment dst) throws GuestMemoryException {
        return copy(gpa, dst, false);
    }

    @Override
    public long write(long gpa, MemorySegment src) throws GuestMemoryException {
        return copy(gpa, src, true);
    }

    @Override
    public void readFully(long gpa, MemorySegment dst) throws GuestMemoryException {
        long done = copy(gpa, dst, false);
        if (done < dst.byteSize()) {
            throw new GuestMemoryException.PartialAccess(
                    gpa, dst.byteSize(), done, "no guest memory at " + hex(gpa + done));
        }
    }

    @Override
    public void writeFully(long gpa, MemorySegment src) throws GuestMemoryException {
        long done = copy(gpa, src, true);
        if (done < src.byteSize()) {
            throw new GuestMemoryException.PartialAccess(
                    gpa, src.byteSize(), done, "no guest memory at " + hex(gpa + done));
        }
    }

    // ---- scalars: one region lookup on the fast path, byte by byte across a region boundary -------------------

    /** {@return the index of the region holding all {@code size} bytes at {@code gpa}, or -1} */
    private int findWhole(long gpa, int size) {
        int r = find(gpa);
        return r >= 0 && gpa - starts[r] <= sizes[r] - size ? r : -1;
    }

    private long getSpanning(long gpa, int size) throws GuestMemoryException {
        checkRange(gpa, size);
        long value = 0;
        for (int i = size - 1; i >= 0; i--) {
            int r = find(gpa + i);
            value = (value << 8) | (segments[r].get(ValueLayout.JAVA_BYTE, gpa + i - starts[r]) & 0xffL);
        }
        return value;
    }

    private void putSpanning(long gpa, int size, long value) throws GuestMemoryException {
        checkRange(gpa, size);
        for (int i = 0; i < size; i++) {
            int r = find(gpa + i);
            segments[r].set(ValueLayout.JAVA_BYTE, gpa + i - starts[r], (byte) (value >>> (8 * i)));
        }
    }

    @Override
    public byte getByte(long gpa) throws GuestMemoryException {
        int r = find(gpa);
        if (r < 0) {
            throw new GuestMemoryException.InvalidAddress(gpa, 1, gpa);
        }
        return segments[r].get(ValueLayout.JAVA_BYTE, gpa - starts[r]);
    }

    @Override
    public short getShort(long gpa) throws GuestMemoryException {
        int r = findWhole(gpa, 2);
        return r >= 0 ? segments[r].get(SHORT, gpa - starts[r]) : (short) getSpanning(gpa, 2);
    }

    @Override
    public int getInt(long gpa) throws GuestMemoryException {
        int r = findWhole(gpa, 4);
        return r >= 0 ? segments[r].get(INT, gpa - starts[r]) : (int) getSpanning(gpa, 4);
    }

    @Override
    public long getLong(long gpa) throws GuestMemoryException {
        int r = findWhole(gpa, 8);
        return r >= 0 ? segments[r].get(LONG, gpa - starts[r]) : getSpanning(gpa, 8);
    }

    @Override
    public void putByte(long gpa, byte value) throws GuestMemoryException {
        int r = find(gpa);
        if (r < 0) {
            throw new GuestMemoryException.InvalidAddress(gpa, 1, gpa);
        }
        segments[r].set(ValueLayout.JAVA_BYTE, gpa - starts[r], value);
    }

    @Override
    public void putShort(long gpa, short value) throws GuestMemoryException {
        int r = findWhole(gpa, 2);
        if (r >= 0) {
            segments[r].set(SHORT, gpa - starts[r], value);
        } else {
            putSpanning(gpa, 2, value);
        }
    }

    @Override
    public void putInt(long gpa, int value) throws GuestMemoryException {
        int r = findWhole(gpa, 4);
        if (r >= 0) {
            segments[r].set(INT, gpa - starts[r], value);
        } else {
            putSpanning(gpa, 4, value);
        }
    }

    @Override
    public void putLong(long gpa, long value) throws GuestMemoryException {
        int r = findWhole(gpa, 8);
        if (r >= 0) {
            segments[r].set(LONG, gpa - starts[r], value);
        } else {
            putSpanning(gpa, 8, value);
        }
    }

    // ---- atomics: aligned, so never across regions (which are page-aligned) ----------------------------------

    /** {@return the region holding the naturally aligned {@code size} bytes at {@code gpa}} */
    private int findAligned(long gpa, int size) throws GuestMemoryException {
        if ((gpa & (size - 1)) != 0) {
            throw new GuestMemoryException.Misaligned(gpa, size);
        }
        int r = find(gpa);
        if (r < 0) {
            throw new GuestMemoryException.InvalidAddress(gpa, size, gpa);
        }
        return r;
    }

    @Override
    public short getShortAcquire(long gpa) throws GuestMemoryException {
        int r = findAligned(gpa, 2);
        return (short) SHORT_ATOMIC.getAcquire(segments[r], gpa - starts[r]);
    }

    @Override
    public void putShortRelease(long gpa, short value) throws GuestMemoryException {
        int r = findAligned(gpa, 2);
        SHORT_ATOMIC.setRelease(segments[r], gpa - starts[r], value);
    }

    @Override
    public int getIntAcquire(long gpa) throws GuestMemoryException {
        int r = findAligned(gpa, 4);
        return (int) INT_ATOMIC.getAcquire(segments[r], gpa - starts[r]);
    }

    @Override
    public void putIntRelease(long gpa, int value) throws GuestMemoryException {
        int r = findAligned(gpa, 4);
        INT_ATOMIC.setRelease(segments[r], gpa - starts[r], value);
    }

    @Override
    public int getIntVolatile(long gpa) throws GuestMemoryException {
        int r = findAligned(gpa, 4);
        return (int) INT_ATOMIC.getVolatile(segments[r], gpa - starts[r]);
    }

    @Override
    public void putIntVolatile(long gpa, int value) throws GuestMemoryException {
        int r = findAligned(gpa, 4);
        INT_ATOMIC.setVolatile(segments[r], gpa - starts[r], value);
    }

    @Override
    public long getLongAcquire(long gpa) throws GuestMemoryException {
        int r = findAligned(gpa, 8);
        return (long) LONG_ATOMIC.getAcquire(segments[r], gpa - starts[r]);
    }

    @Override
    public void putLongRelease(long gpa, long value) throws GuestMemoryException {
        int r = findAligned(gpa, 8);
        LONG_ATOMIC.setRelease(segments[r], gpa - starts[r], value);
    }

    @Override
    public boolean compareAndSetInt(long gpa, int expected, int value) throws GuestMemoryException {
        int r = findAligned(gpa, 4);
        return INT_ATOMIC.compareAndSet(segments[r], gpa - starts[r], expected, value);
    }

    // ---- views and file I/O -------------------------------------------------------------------------------------

    @Override
    public long discard(long gpa, long length) throws GuestMemoryException {
        if ((gpa & (PAGE_SIZE - 1)) != 0 || (length & (PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException(
                    String.format(Locale.ROOT, "discard needs whole pages, not %#x+%#x", gpa, length));
        }
        checkRange(gpa, length);
        long released = 0;
        long done = 0;
        while (done < length) {
            long address = gpa + done;
            int r = find(address);
            long offset = address - starts[r];
            long chunk = Math.min(length - done, sizes[r] - offset);
            if (discardAdvice[r] != 0) {
                Libc.madvise(segments[r].asSlice(offset, chunk), discardAdvice[r]);
                released += chunk;
            }
            done += chunk;
        }
        return released;
    }

    @Override
    public MemorySegment slice(long gpa, long length) throws GuestMemoryException {
        checkNoWrap(gpa, length);
        int r = find(gpa);
        if (r < 0) {
            throw new GuestMemoryException.InvalidAddress(gpa, length, gpa);
        }
        long offset = gpa - starts[r];
        if (length > sizes[r] - offset) {
            checkRange(gpa, length);
            throw new GuestMemoryException.PartialAccess(
                    gpa, length, sizes[r] - offset, "the range crosses from one region into the next; use slices()");
        }
        return segments[r].asSlice(offset, length);
    }

    @Override
    public List<MemorySegment> slices(long gpa, long length) throws GuestMemoryException {
        checkRange(gpa, length);
        List<MemorySegment> slices = new ArrayList<>(2);
        long done = 0;
        while (done < length) {
            long address = gpa + done;
            int r = find(address);
            long offset = address - starts[r];
            long chunk = Math.min(length - done, sizes[r] - offset);
            slices.add(segments[r].asSlice(offset, chunk));
            done += chunk;
        }
        return slices;
    }

    @Override
    public long readFrom(FileChannel file, long position, long gpa, long length)
            throws IOException, GuestMemoryException {
        requirePosition(position);
        long done = 0;
        for (MemorySegment slice : slices(gpa, length)) {
            // A direct buffer over guest memory: the kernel copies the file straight into the guest.
            ByteBuffer buffer = slice.asByteBuffer();
            while (buffer.hasRemaining()) {
                int n = file.read(buffer, position + done);
                if (n < 0) {
                    return done;
                }
                done += n;
            }
        }
        return done;
    }

    @Override
    public void writeTo(FileChannel file, long position, long gpa, long length)
            throws IOException, GuestMemoryException {
        requirePosition(position);
        long done = 0;
        for (MemorySegment slice : slices(gpa, length)) {
            ByteBuffer buffer = slice.asByteBuffer();
            while (buffer.hasRemaining()) {
                done += file.write(buffer, position + done);
            }
        }
    }

    private static void requirePosition(long position) {
        if (position < 0) {
            throw new IllegalArgumentException("file position must not be negative, got " + position);
        }
    }

    /** Unmaps the regions this object mapped and closes their memfds; borrowed regions stay with their owner. */
    @Override
    public void close() {
        backingFds.forEach(OwnedFd::close);
        arena.close();
    }

    @Override
    public String toString() {
        return "GuestMemoryMmap" + regions;
    }
}
