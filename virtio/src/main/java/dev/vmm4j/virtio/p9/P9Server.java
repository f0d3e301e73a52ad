// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.p9;

import static dev.vmm4j.virtio.p9.P9Messages.*;

import dev.vmm4j.kvm.bindings.Errno;
import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.dirent64;
import dev.vmm4j.kvm.bindings.open_how;
import dev.vmm4j.kvm.bindings.stat;
import dev.vmm4j.kvm.bindings.statfs;
import dev.vmm4j.kvm.bindings.timespec;
import dev.vmm4j.vmm.sys.Libc;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A 9P2000.L file server confined to one host directory, independent of any transport: it takes a T-message from
 * {@link #requestBuffer()} and writes the R-message into {@link #replyBuffer()} ({@link #serve}), or copies both
 * ({@link #handle}). It covers what Linux's v9fs client sends: version, attach, walk, getattr, setattr, lopen,
 * lcreate, read, write, clunk, remove, readdir, mkdir, symlink, mknod, link, renameat, unlinkat, readlink, statfs,
 * fsync, lock, getlock, xattrwalk, xattrcreate and flush; anything else, rename included, gets
 * {@code Rlerror(EOPNOTSUPP)} (see below).
 *
 * <h2>Confinement</h2>
 * Every fid holds an {@code O_PATH} file descriptor, never a path. A name is resolved one component at a time, relative
 * to the directory fd of its fid, with {@code openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)} and
 * {@code O_NOFOLLOW}, so the kernel, not a string check, keeps every lookup beneath the share: a symlink is opened as
 * itself and never followed by the server (the client reads it with readlink and walks the target itself, within the
 * share), {@code ..} at the root is the root, and a name with {@code /} or NUL is refused ({@code EINVAL}) before any
 * call. Files are created with {@code O_CREAT | O_NOFOLLOW} under the same resolution, so a host-planted symlink
 * cannot redirect a create. Opening, chmod, utimes, truncate and link reach the file an fid already holds through
 * {@code /proc/self/fd/N} (host-chosen, so magic links are fine there), which re-opens that very inode. A read-only
 * share answers every mutation with {@code EROFS}. Device nodes are not opened ({@code EACCES}); fifos are opened
 * non-blocking so that no request can stall the device.
 *
 * <h2>Bounds</h2>
 * The negotiated msize is at most {@link #MAX_MSIZE}; every size, count and string in a T-message is checked against
 * the message ({@code EPROTO} when it does not fit), names are at most 255 bytes ({@code ENAMETOOLONG}). At most
 * {@code maxFids} fids ({@code EMFILE}) and {@code maxOpenFiles} open fids ({@code ENFILE}) exist at a time; requests
 * are served one at a time, so none are outstanding. Memory: two msize buffers, one directory buffer, and the fids.
 *
 * <h2>Not implemented</h2>
 * {@code Trename} answers {@code EOPNOTSUPP} (Linux then uses {@code Trenameat}), {@code Tremove} clunks and answers
 * {@code EOPNOTSUPP} (Linux uses {@code Tunlinkat}); locks always succeed without locking (as crosvm); extended
 * attributes: the list is empty, every get is {@code ENODATA}, every set {@code EOPNOTSUPP}.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; requests are served one at a time (the device's event loop).
 */
public final class P9Server implements AutoCloseable {
    /** The largest msize this server agrees to: 512 KiB, Linux's own maximum for virtio. */
    public static final int MAX_MSIZE = 512 * 1024;
    /** The smallest msize this server agrees to. */
    public static final int MIN_MSIZE = 4096;
    /** The msize in force before a Tversion. */
    public static final int DEFAULT_MSIZE = 8192;
    /** Default bound on fids per server. */
    public static final int DEFAULT_MAX_FIDS = 4096;
    /** Default bound on open fids per server. */
    public static final int DEFAULT_MAX_OPEN_FILES = 1024;

    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final int NAME_MAX = 255;
    private static final int PATH_MAX = 4095;
    private static final int HEADER = 7;
    private static final int MAX_WALK_ELEMENTS = 16;

    // Scratch slots, each NUL-terminated where it holds a string.
    private static final long NAME_A = 0;
    private static final long NAME_B = 512;
    private static final long PATH = 1024;
    private static final long PROC_NAME = PATH + PATH_MAX + 1 + 64;
    private static final long EMPTY = PROC_NAME + 64;
    private static final long DOT = EMPTY + 8;
    private static final long DOT_DOT = DOT + 8;
    private static final long STAT = DOT_DOT + 8;
    private static final long STATFS = STAT + align8(stat.sizeof());
    private static final long OPEN_HOW = STATFS + align8(statfs.sizeof());
    private static final long TIMES = OPEN_HOW + align8(open_how.sizeof());
    private static final long SCRATCH_SIZE = TIMES + 2 * timespec.sizeof();

    private static final int O_PATH = LinuxHeaders.O_PATH();
    private static final int O_NOFOLLOW = LinuxHeaders.O_NOFOLLOW();
    private static final int O_CLOEXEC = LinuxHeaders.O_CLOEXEC();
    private static final int O_DIRECTORY = LinuxHeaders.O_DIRECTORY();
    private static final int O_CREAT = LinuxHeaders.O_CREAT();
    private static final int O_EXCL = LinuxHeaders.O_EXCL();
    private static final int O_TRUNC = LinuxHeaders.O_TRUNC();
    private static final int O_APPEND = LinuxHeaders.O_APPEND();
    private static final int O_NONBLOCK = LinuxHeaders.O_NONBLOCK();
    private static final int O_NOCTTY = LinuxHeaders.O_NOCTTY();
    private static final int O_DSYNC = LinuxHeaders.O_DSYNC();
    private static final int O_SYNC = LinuxHeaders.O_SYNC();
    private static final int O_WRONLY = LinuxHeaders.O_WRONLY();
    private static final int O_ACCMODE = 3;
    /** The open flags a client may ask for; others (O_DIRECT, O_NOATIME, O_ASYNC, O_PATH...) are dropped. */
    private static final int ALLOWED_OPEN_FLAGS = O_ACCMODE | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC;

    private static final long RESOLVE_CONFINED = LinuxHeaders.RESOLVE_BENEATH() | LinuxHeaders.RESOLVE_NO_MAGICLINKS();
    private static final long RESOLVE_PARENT =
            LinuxHeaders.RESOLVE_NO_MAGICLINKS() | LinuxHeaders.RESOLVE_NO_SYMLINKS();
    private static final int AT_FDCWD = LinuxHeaders.AT_FDCWD();
    private static final int AT_EMPTY_PATH = LinuxHeaders.AT_EMPTY_PATH();
    private static final int AT_SYMLINK_NOFOLLOW = LinuxHeaders.AT_SYMLINK_NOFOLLOW();
    private static final int AT_SYMLINK_FOLLOW = LinuxHeaders.AT_SYMLINK_FOLLOW();
    private static final int AT_REMOVEDIR = LinuxHeaders.AT_REMOVEDIR();

    private static final int S_IFMT = LinuxHeaders.S_IFMT();
    private static final int S_IFREG = LinuxHeaders.S_IFREG();
    private static final int S_IFDIR = LinuxHeaders.S_IFDIR();
    private static final int S_IFLNK = LinuxHeaders.S_IFLNK();
    private static final int S_IFIFO = LinuxHeaders.S_IFIFO();
    private static final int S_IFCHR = LinuxHeaders.S_IFCHR();
    private static final int S_IFBLK = LinuxHeaders.S_IFBLK();

    private static final int EPERM = LinuxHeaders.EPERM();
    private static final int ENOENT = LinuxHeaders.ENOENT();
    private static final int EBADF = LinuxHeaders.EBADF();
    private static final int EACCES = LinuxHeaders.EACCES();
    private static final int EINVAL = LinuxHeaders.EINVAL();
    private static final int ENFILE = LinuxHeaders.ENFILE();
    private static final int EMFILE = LinuxHeaders.EMFILE();
    private static final int EROFS = LinuxHeaders.EROFS();
    private static final int ELOOP = LinuxHeaders.ELOOP();
    private static final int ENAMETOOLONG = LinuxHeaders.ENAMETOOLONG();
    private static final int ENODATA = LinuxHeaders.ENODATA();
    private static final int EPROTO = LinuxHeaders.EPROTO();
    private static final int EMSGSIZE = LinuxHeaders.EMSGSIZE();
    private static final int EOPNOTSUPP = LinuxHeaders.EOPNOTSUPP();
    private static final int EIO = LinuxHeaders.EIO();

    private final Path root;
    private final boolean readOnly;
    private final int maxFids;
    private final int maxOpenFiles;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment in;
    private final MemorySegment out;
    private final MemorySegment dirents;
    private final MemorySegment scratch;
    private final int rootFd;
    private final int procFd;
    private final long rootDev;
    private final long rootIno;
    private final Map<Integer, Fid> fids = new HashMap<>();
    private final long[] requestCounts = new long[256];
    private int openFiles;
    private int msize = DEFAULT_MSIZE;
    private boolean closed;

    // The message being served: the request cursor and the reply cursor.
    private int inPos;
    private int inEnd;
    private int outPos;
    private int outLimit;

    /** What a fid holds: an O_PATH fd of the file it names, and an open fd once opened. */
    private static final class Fid {
        int pathFd = -1;
        int openFd = -1;
        int mode;
        long dev;
        long ino;
        boolean xattr;
    }

    /** A request that ends in Rlerror; carries no stack trace, as a hostile guest can make many. */
    private static final class P9Error extends Exception {
        private final int errno;

        P9Error(int errno) {
            super(null, null, false, false);
            this.errno = errno;
        }
    }

    private P9Server(Path root, boolean readOnly, int maxFids, int maxOpenFiles) throws IOException {
        this.root = root;
        this.readOnly = readOnly;
        this.maxFids = maxFids;
        this.maxOpenFiles = maxOpenFiles;
        boolean success = false;
        int rootFd = -1;
        int procFd = -1;
        try {
            in = arena.allocate(MAX_MSIZE, 8);
            out = arena.allocate(MAX_MSIZE, 8);
            dirents = arena.allocate(MAX_MSIZE, 8);
            scratch = arena.allocate(SCRATCH_SIZE, 8);
            scratch.setString(DOT, ".");
            scratch.setString(DOT_DOT, "..");
            rootFd =
                    P9Native.openat(AT_FDCWD, arena.allocateFrom(root.toString()), O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
            if (rootFd < 0) {
                throw new IOException("cannot share " + root + ": " + errnoName(-rootFd) + " (it must be a directory)");
            }
            procFd =
                    P9Native.openat(AT_FDCWD, arena.allocateFrom("/proc/self/fd"), O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
            if (procFd < 0) {
                throw new IOException("cannot share " + root + ": /proc/self/fd: " + errnoName(-procFd)
                        + " (the 9P server needs /proc mounted)");
            }
            int r = P9Native.fstatat(rootFd, scratch.asSlice(EMPTY), scratch.asSlice(STAT), AT_EMPTY_PATH);
            if (r < 0) {
                throw new IOException("cannot share " + root + ": fstatat: " + errnoName(-r));
            }
            this.rootFd = rootFd;
            this.procFd = procFd;
            this.rootDev = stat.st_dev(scratch.asSlice(STAT));
            this.rootIno = stat.st_ino(scratch.asSlice(STAT));
            success = true;
        } finally {
            if (!success) {
                if (rootFd >= 0) {
                    P9Native.close(rootFd);
                }
                if (procFd >= 0) {
                    P9Native.close(procFd);
                }
                arena.close();
            }
        }
    }

    /**
     * {@return a server for the directory {@code root}, with the default bounds ({@link #DEFAULT_MAX_FIDS},
     * {@link #DEFAULT_MAX_OPEN_FILES})} The caller owns it and must close it.
     *
     * @param root the directory to share, resolved against the working directory if relative; a symlink to a
     *     directory is followed once, here
     * @param readOnly whether every mutation is refused with {@code EROFS}
     * @throws IOException if {@code root} cannot be opened as a directory or {@code /proc/self/fd} is missing (the
     *     message says which)
     */
    public static P9Server open(Path root, boolean readOnly) throws IOException {
        return open(root, readOnly, DEFAULT_MAX_FIDS, DEFAULT_MAX_OPEN_FILES);
    }

    /**
     * {@return a server for the directory {@code root}, with at most {@code maxFids} fids and {@code maxOpenFiles} of
     * them open} The caller owns it and must close it.
     *
     * @param root the directory to share, resolved against the working directory if relative; a symlink to a
     *     directory is followed once, here
     * @param readOnly whether every mutation is refused with {@code EROFS}
     * @param maxFids at least 1: the most fids the client may hold at once (more get {@code EMFILE}); each holds an
     *     {@code O_PATH} fd, so this bounds the host fds the guest can pin
     * @param maxOpenFiles at least 1: the most of those fids that may be open at once (more get {@code ENFILE}); each
     *     holds one more fd
     * @throws IllegalArgumentException if {@code maxFids} or {@code maxOpenFiles} is below 1
     * @throws IOException if {@code root} cannot be opened as a directory or {@code /proc/self/fd} is missing (the
     *     message says which)
     */
    public static P9Server open(Path root, boolean readOnly, int maxFids, int maxOpenFiles) throws IOException {
        Objects.requireNonNull(root, "root");
        if (maxFids < 1 || maxOpenFiles < 1) {
            throw new IllegalArgumentException(
                    "maxFids and maxOpenFiles must be positive: " + maxFids + ", " + maxOpenFiles);
        }
        return new P9Server(root.toAbsolutePath(), readOnly, maxFids, maxOpenFiles);
    }

    /** {@return the shared directory} */
    public Path root() {
        return root;
    }

    /** {@return whether every mutation is refused with EROFS} */
    public boolean isReadOnly() {
        return readOnly;
    }

    /** {@return the buffer a T-message goes into for {@link #serve}: {@link #MAX_MSIZE} bytes} */
    public MemorySegment requestBuffer() {
        return in;
    }

    /** {@return the buffer {@link #serve} writes the R-message into: {@link #MAX_MSIZE} bytes} */
    public MemorySegment replyBuffer() {
        return out;
    }

    /**
     * Serves the T-message in the first {@code requestLength} bytes of {@link #requestBuffer()}, writing at most
     * {@code replyCapacity} bytes of R-message into {@link #replyBuffer()}. Never throws for anything a client sends.
     *
     * @param requestLength the bytes of {@link #requestBuffer()} that hold the request, as the transport received them;
     *     the message's own size field must not exceed it ({@code EPROTO}), and a length outside 7 to
     *     {@link #MAX_MSIZE} gets no answer
     * @param replyCapacity the most bytes the transport can take back (the chain's writable bytes); the reply is also
     *     held to the negotiated msize, and a reply that does not fit becomes {@code Rlerror(EMSGSIZE)}
     * @return the reply's length; 0 when the message is too short to carry a tag or no error reply fits, so there is
     *     nothing to answer
     * @throws IllegalStateException if the server is closed
     */
    public synchronized int serve(int requestLength, int replyCapacity) {
        if (closed) {
            throw new IllegalStateException("the 9P server for " + root + " is closed");
        }
        if (requestLength < HEADER || requestLength > MAX_MSIZE) {
            return 0;
        }
        int limit = Math.min(Math.min(replyCapacity, msize), MAX_MSIZE);
        if (limit < HEADER + 4) {
            return 0;
        }
        long size = in.get(U32, 0) & 0xffffffffL;
        int type = in.get(U8, 4) & 0xff;
        short tag = in.get(U16, 5);
        requestCounts[type]++;
        inPos = HEADER;
        inEnd = (int) Math.min(size, requestLength);
        outPos = HEADER;
        outLimit = limit;
        int errno;
        try {
            if (size < HEADER || size > requestLength) {
                throw new P9Error(EPROTO);
            }
            if (size > msize && type != TVERSION) {
                throw new P9Error(EMSGSIZE);
            }
            dispatch(type);
            out.set(U32, 0, outPos);
            out.set(U8, 4, (byte) (type + 1));
            out.set(U16, 5, tag);
            return outPos;
        } catch (P9Error e) {
            errno = e.errno;
        } catch (RuntimeException e) {
            // SAFETY net: a bug here must not reach the device's loop; the client sees EIO for this request only.
            errno = EIO;
        }
        out.set(U32, 0, HEADER + 4);
        out.set(U8, 4, (byte) RLERROR);
        out.set(U16, 5, tag);
        out.set(U32, HEADER, errno);
        return HEADER + 4;
    }

    /**
     * Serves {@code request} (one T-message) and copies the R-message into {@code reply}. For tests and transports that
     * do not fill {@link #requestBuffer()} themselves.
     *
     * @param request the T-message; only its first {@link #MAX_MSIZE} bytes are read
     * @param reply where the R-message is copied; its size is the reply capacity (see {@link #serve})
     * @return the reply's length, or 0 if there is none
     * @throws IllegalStateException if the server is closed
     */
    public synchronized int handle(MemorySegment request, MemorySegment reply) {
        int length = (int) Math.min(request.byteSize(), MAX_MSIZE);
        MemorySegment.copy(request, 0, in, 0, length);
        int n = serve(length, (int) Math.min(reply.byteSize(), Integer.MAX_VALUE));
        MemorySegment.copy(out, 0, reply, 0, n);
        return n;
    }

    /**
     * {@return how many T-messages of {@code type} (e.g. {@link P9Messages#TWALK}) this server has received}
     *
     * @param type a message type; only its low 8 bits count, as on the wire
     */
    public synchronized long requestCount(int type) {
        return requestCounts[type & 0xff];
    }

    /** {@return how many fids the client holds} */
    public synchronized int fidCount() {
        return fids.size();
    }

    /** {@return how many fids are open} */
    public synchronized int openFileCount() {
        return openFiles;
    }

    /** {@return the negotiated msize} */
    public synchronized int msize() {
        return msize;
    }

    /** Closes every fid and the share's directory. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        clunkAll();
        P9Native.close(rootFd);
        P9Native.close(procFd);
        arena.close();
    }

    private void dispatch(int type) throws P9Error {
        switch (type) {
            case TVERSION -> version();
            case TATTACH -> attach();
            case TWALK -> walk();
            case TGETATTR -> getattr();
            case TSETATTR -> setattr();
            case TLOPEN -> lopen();
            case TLCREATE -> lcreate();
            case TREAD -> read();
            case TWRITE -> write();
            case TCLUNK -> clunk();
            case TREMOVE -> remove();
            case TREADDIR -> readdir();
            case TMKDIR -> mkdir();
            case TSYMLINK -> symlink();
            case TMKNOD -> mknod();
            case TLINK -> link();
            case TRENAMEAT -> renameat();
            case TUNLINKAT -> unlinkat();
            case TREADLINK -> readlink();
            case TSTATFS -> statfs();
            case TFSYNC -> fsync();
            case TLOCK -> lock();
            case TGETLOCK -> getlock();
            case TXATTRWALK -> xattrwalk();
            case TXATTRCREATE -> xattrcreate();
            case TFLUSH -> flush();
            default -> throw new P9Error(EOPNOTSUPP); // Trename, Tauth, the 9P2000 Topen/Tcreate/Tstat/Twstat...
        }
    }

    // ---- messages -------------------------------------------------------------------------------------------

    /** size[4] Tversion tag[2] msize[4] version[s] -> size[4] Rversion tag[2] msize[4] version[s] */
    private void version() throws P9Error {
        long requested = u32();
        int length = u16();
        need(length);
        boolean dotL = length == VERSION_9P2000_L.length;
        for (int i = 0; dotL && i < length; i++) {
            dotL = in.get(U8, inPos + i) == VERSION_9P2000_L[i];
        }
        inPos += length;
        if (requested < MIN_MSIZE) {
            throw new P9Error(EINVAL);
        }
        clunkAll(); // a Tversion starts a new session
        if (!dotL) {
            putU32(msize);
            putString("unknown");
            return;
        }
        msize = (int) Math.min(requested, MAX_MSIZE);
        putU32(msize);
        putString("9P2000.L");
    }

    /** Tattach fid[4] afid[4] uname[s] aname[s] n_uname[4] -> Rattach qid[13] */
    private void attach() throws P9Error {
        int fid = (int) u32();
        u32(); // afid: no authentication
        skipString();
        skipString(); // aname: the share is the root, whatever the client names
        u32();
        if (fids.containsKey(fid)) {
            throw new P9Error(EBADF);
        }
        if (fids.size() >= maxFids) {
            throw new P9Error(EMFILE);
        }
        int fd = check(P9Native.openat2(
                rootFd, scratch.asSlice(DOT), openHow(O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_CONFINED)));
        Fid f = newFid(fd);
        fids.put(fid, f);
        putQid(f.mode, f.ino, stat.st_mtim$offset());
    }

    /** Twalk fid[4] newfid[4] nwname[2] nwname*(wname[s]) -> Rwalk nwqid[2] nwqid*(qid[13]) */
    private void walk() throws P9Error {
        int fidNumber = (int) u32();
        int newFidNumber = (int) u32();
        int count = u16();
        Fid from = pathFid(fidNumber);
        if (count > MAX_WALK_ELEMENTS) {
            throw new P9Error(EINVAL);
        }
        if (newFidNumber != fidNumber) {
            if (fids.containsKey(newFidNumber)) {
                throw new P9Error(EBADF);
            }
            if (fids.size() >= maxFids) {
                throw new P9Error(EMFILE);
            }
        }
        int countAt = outPos;
        putU16(0);
        int current = -1; // the fd walked so far; -1: still the fid's own
        long currentDev = from.dev;
        long currentIno = from.ino;
        int walked = 0;
        try {
            for (; walked < count; walked++) {
                int next;
                int length = readName(NAME_A);
                if (length < 0) {
                    next = length;
                } else {
                    int base = current < 0 ? from.pathFd : current;
                    next = walkOne(base, currentDev, currentIno, length);
                }
                if (next < 0) {
                    if (walked == 0) {
                        throw new P9Error(-next);
                    }
                    break;
                }
                if (current >= 0) {
                    P9Native.close(current);
                }
                current = next;
                statFd(current);
                MemorySegment st = scratch.asSlice(STAT);
                currentDev = stat.st_dev(st);
                currentIno = stat.st_ino(st);
                putQid(stat.st_mode(st), currentIno, stat.st_mtim$offset());
            }
            out.set(U16, countAt, (short) walked);
            if (walked < count) {
                return; // partial walk: newfid is not made
            }
            int fd = current;
            if (fd < 0) {
                fd = check(Libc.fcntl(from.pathFd, LinuxHeaders.F_DUPFD_CLOEXEC(), 0));
            }
            current = -1;
            Fid made = newFid(fd);
            if (newFidNumber == fidNumber) {
                closeFid(fids.remove(fidNumber));
            }
            fids.put(newFidNumber, made);
        } finally {
            if (current >= 0) {
                P9Native.close(current);
            }
        }
    }

    /** One walk step from {@code dirFd} to the name in NAME_A: an O_PATH fd, or -errno. */
    private int walkOne(int dirFd, long dirDev, long dirIno, int length) {
        if (length == 2 && isDotDot(NAME_A)) {
            if (dirDev == rootDev && dirIno == rootIno) {
                return P9Native.openat2(
                        dirFd, scratch.asSlice(DOT), openHow(O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_CONFINED));
            }
            // The parent of a directory beneath the root is beneath the root or is the root.
            return P9Native.openat2(
                    dirFd, scratch.asSlice(DOT_DOT), openHow(O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_PARENT));
        }
        return P9Native.openat2(
                dirFd, scratch.asSlice(NAME_A), openHow(O_PATH | O_NOFOLLOW | O_CLOEXEC, 0, RESOLVE_CONFINED));
    }

    /** Tgetattr fid[4] request_mask[8] -> Rgetattr valid[8] qid[13] mode[4] uid[4] gid[4] nlink[8] rdev[8] size[8]
     * blksize[8] blocks[8] atime[16] mtime[16] ctime[16] btime[16] gen[8] data_version[8] */
    private void getattr() throws P9Error {
        Fid f = pathFid((int) u32());
        u64();
        statFd(f.pathFd);
        MemorySegment st = scratch.asSlice(STAT);
        putU64(GETATTR_BASIC);
        putQid(stat.st_mode(st), stat.st_ino(st), stat.st_mtim$offset());
        putU32(stat.st_mode(st));
        putU32(stat.st_uid(st));
        putU32(stat.st_gid(st));
        putU64(stat.st_nlink(st));
        putU64(stat.st_rdev(st));
        putU64(stat.st_size(st));
        putU64(stat.st_blksize(st));
        putU64(stat.st_blocks(st));
        putTime(stat.st_atim$offset());
        putTime(stat.st_mtim$offset());
        putTime(stat.st_ctim$offset());
        putU64(0);
        putU64(0);
        putU64(0);
        putU64(0);
    }

    /** Tsetattr fid[4] valid[4] mode[4] uid[4] gid[4] size[8] atime_sec[8] atime_nsec[8] mtime_sec[8] mtime_nsec[8] -> Rsetattr */
    private void setattr() throws P9Error {
        Fid f = pathFid((int) u32());
        int valid = (int) u32();
        int mode = (int) u32();
        int uid = (int) u32();
        int gid = (int) u32();
        long size = u64();
        long atimeSec = u64();
        long atimeNsec = u64();
        long mtimeSec = u64();
        long mtimeNsec = u64();
        if ((valid & (SETATTR_MODE | SETATTR_UID | SETATTR_GID | SETATTR_SIZE | SETATTR_ATIME | SETATTR_MTIME)) == 0) {
            return; // ctime only: the kernel sets it with any change
        }
        if (readOnly) {
            throw new P9Error(EROFS);
        }
        boolean symlink = (f.mode & S_IFMT) == S_IFLNK;
        if ((valid & SETATTR_MODE) != 0) {
            if (symlink) {
                throw new P9Error(EOPNOTSUPP);
            }
            check(P9Native.fchmodat(procFd, procName(f.pathFd), mode & 07777, 0));
        }
        if ((valid & (SETATTR_UID | SETATTR_GID)) != 0) {
            check(P9Native.fchownat(
                    f.pathFd,
                    scratch.asSlice(EMPTY),
                    (valid & SETATTR_UID) != 0 ? uid : -1,
                    (valid & SETATTR_GID) != 0 ? gid : -1,
                    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
        }
        if ((valid & SETATTR_SIZE) != 0) {
            if ((f.mode & S_IFMT) != S_IFREG) {
                throw new P9Error((f.mode & S_IFMT) == S_IFDIR ? LinuxHeaders.EISDIR() : EINVAL);
            }
            if (size < 0) {
                throw new P9Error(EINVAL);
            }
            int fd = check(P9Native.openat(procFd, procName(f.pathFd), O_WRONLY | O_CLOEXEC | O_NOCTTY, 0));
            int r = P9Native.ftruncate(fd, size);
            P9Native.close(fd);
            check(r);
        }
        if ((valid & (SETATTR_ATIME | SETATTR_MTIME)) != 0) {
            if (symlink) {
                throw new P9Error(EOPNOTSUPP);
            }
            MemorySegment times = scratch.asSlice(TIMES, 2 * timespec.sizeof());
            setTime(times, 0, valid, SETATTR_ATIME, SETATTR_ATIME_SET, atimeSec, atimeNsec);
            setTime(times, timespec.sizeof(), valid, SETATTR_MTIME, SETATTR_MTIME_SET, mtimeSec, mtimeNsec);
            check(P9Native.utimensat(procFd, procName(f.pathFd), times, 0));
        }
    }

    private static void setTime(MemorySegment times, long at, int valid, int bit, int setBit, long sec, long nsec)
            throws P9Error {
        long nanos;
        if ((valid & bit) == 0) {
            nanos = LinuxHeaders.UTIME_OMIT();
        } else if ((valid & setBit) == 0) {
            nanos = LinuxHeaders.UTIME_NOW();
        } else {
            if (nsec < 0 || nsec >= 1_000_000_000L) {
                throw new P9Error(EINVAL);
            }
            nanos = nsec;
        }
        times.set(ValueLayout.JAVA_LONG, at + timespec.tv_sec$offset(), sec);
        times.set(ValueLayout.JAVA_LONG, at + timespec.tv_nsec$offset(), nanos);
    }

    /** Tlopen fid[4] flags[4] -> Rlopen qid[13] iounit[4] */
    private void lopen() throws P9Error {
        Fid f = pathFid((int) u32());
        int flags = (int) u32();
        if (f.openFd >= 0) {
            throw new P9Error(EBADF);
        }
        if (openFiles >= maxOpenFiles) {
            throw new P9Error(ENFILE);
        }
        f.openFd = reopen(f.pathFd, f.mode, openFlags(flags));
        openFiles++;
        statFd(f.pathFd);
        putQid(stat.st_mode(scratch.asSlice(STAT)), stat.st_ino(scratch.asSlice(STAT)), stat.st_mtim$offset());
        putU32(0);
    }

    /**
     * Opens the file {@code pathFd} holds (of type {@code mode}) through /proc/self/fd, which reaches that very inode:
     * not a symlink (ELOOP) nor a device node (EACCES); a fifo non-blocking, so that no open or read stalls the server.
     * {@return the open fd}
     */
    private int reopen(int pathFd, int mode, int flags) throws P9Error {
        int type = mode & S_IFMT;
        if (type == S_IFLNK) {
            throw new P9Error(ELOOP);
        }
        if (type == S_IFCHR || type == S_IFBLK) {
            throw new P9Error(EACCES);
        }
        if (type == S_IFIFO) {
            flags |= O_NONBLOCK;
        }
        return check(P9Native.openat(procFd, procName(pathFd), flags, 0));
    }

    private int openFlags(int flags) throws P9Error {
        int access = flags & O_ACCMODE;
        if (access == O_ACCMODE) {
            throw new P9Error(EINVAL);
        }
        if (readOnly && (access != 0 || (flags & (O_TRUNC | O_APPEND | O_CREAT)) != 0)) {
            throw new P9Error(EROFS);
        }
        return (flags & ALLOWED_OPEN_FLAGS) | O_CLOEXEC | O_NOCTTY;
    }

    /** Tlcreate fid[4] name[s] flags[4] mode[4] gid[4] -> Rlcreate qid[13] iounit[4] */
    private void lcreate() throws P9Error {
        Fid dir = pathFid((int) u32());
        int length = readName(NAME_A);
        int flags = (int) u32();
        int mode = (int) u32();
        u32();
        if (readOnly) {
            throw new P9Error(EROFS);
        }
        checkName(length, NAME_A);
        if (dir.openFd >= 0) {
            throw new P9Error(EBADF);
        }
        if (openFiles >= maxOpenFiles) {
            throw new P9Error(ENFILE);
        }
        int wanted = openFlags(flags);
        // Create only (O_EXCL): an existing name, which may be a fifo or a device node, is never opened by O_CREAT.
        int fd = P9Native.openat2(
                dir.pathFd,
                scratch.asSlice(NAME_A),
                openHow(wanted | O_CREAT | O_EXCL | O_NOFOLLOW, mode & 07777, RESOLVE_CONFINED));
        if (fd == -LinuxHeaders.EEXIST() && (flags & O_EXCL) == 0) {
            fd = -1; // it exists: open it as Tlopen would
        } else {
            check(fd);
        }
        int pathFd = P9Native.openat2(
                dir.pathFd, scratch.asSlice(NAME_A), openHow(O_PATH | O_NOFOLLOW | O_CLOEXEC, 0, RESOLVE_CONFINED));
        if (pathFd < 0) {
            if (fd >= 0) {
                P9Native.close(fd);
            }
            throw new P9Error(-pathFd);
        }
        Fid made = new Fid();
        try {
            fill(made, pathFd);
            if (fd < 0) {
                if ((made.mode & S_IFMT) == S_IFDIR) {
                    throw new P9Error(LinuxHeaders.EISDIR());
                }
                fd = reopen(pathFd, made.mode, wanted);
            }
        } catch (P9Error e) {
            P9Native.close(pathFd);
            if (fd >= 0) {
                P9Native.close(fd);
            }
            throw e;
        }
        P9Native.close(dir.pathFd);
        dir.pathFd = made.pathFd;
        dir.mode = made.mode;
        dir.dev = made.dev;
        dir.ino = made.ino;
        dir.openFd = fd;
        openFiles++;
        putQid(dir.mode, dir.ino, stat.st_mtim$offset());
        putU32(0);
    }

    /** Tread fid[4] offset[8] count[4] -> Rread count[4] data[count] */
    private void read() throws P9Error {
        Fid f = fid((int) u32());
        long offset = u64();
        long count = u32();
        if (f.xattr) {
            putU32(0);
            return;
        }
        if (f.openFd < 0) {
            throw new P9Error(EBADF);
        }
        if (offset < 0) {
            throw new P9Error(EINVAL);
        }
        long room = outLimit - outPos - 4;
        long n = Libc.pread(f.openFd, out, outPos + 4, Math.min(count, room), offset);
        check(n);
        putU32((int) n);
        outPos += (int) n;
    }

    /** Twrite fid[4] offset[8] count[4] data[count] -> Rwrite count[4] */
    private void write() throws P9Error {
        Fid f = fid((int) u32());
        long offset = u64();
        long count = u32();
        need(count);
        if (readOnly) {
            throw new P9Error(EROFS);
        }
        if (f.xattr || f.openFd < 0) {
            throw new P9Error(EBADF);
        }
        if (offset < 0) {
            throw new P9Error(EINVAL);
        }
        long n = check(Libc.pwrite(f.openFd, in, inPos, count, offset));
        inPos += (int) count;
        putU32((int) n);
    }

    /** Tclunk fid[4] -> Rclunk */
    private void clunk() throws P9Error {
        int number = (int) u32();
        fid(number);
        closeFid(fids.remove(number));
    }

    /** Tremove fid[4] -> Rremove; the fid is clunked whatever the outcome (9P), and removal is Tunlinkat's job. */
    private void remove() throws P9Error {
        int number = (int) u32();
        fid(number);
        closeFid(fids.remove(number));
        throw new P9Error(readOnly ? EROFS : EOPNOTSUPP);
    }

    /** Treaddir fid[4] offset[8] count[4] -> Rreaddir count[4] data[count]: qid[13] offset[8] type[1] name[s] each */
    private void readdir() throws P9Error {
        Fid f = pathFid((int) u32());
        long offset = u64();
        long count = u32();
        if (f.openFd < 0 || (f.mode & S_IFMT) != S_IFDIR) {
            throw new P9Error(EBADF);
        }
        if (offset < 0) {
            throw new P9Error(EINVAL);
        }
        int countAt = outPos;
        putU32(0);
        long room = Math.min(count, outLimit - outPos);
        check(P9Native.lseek(f.openFd, offset, LinuxHeaders.SEEK_SET()));
        long n = check(P9Native.getdents64(f.openFd, dirents, Math.min(room, dirents.byteSize())));
        boolean atRoot = f.dev == rootDev && f.ino == rootIno;
        int start = outPos;
        long at = 0;
        while (at + dirent64.d_name$offset() <= n) {
            int reclen = dirents.get(ValueLayout.JAVA_SHORT, at + dirent64.d_reclen$offset()) & 0xffff;
            if (reclen < dirent64.d_name$offset() || at + reclen > n) {
                break;
            }
            long nameAt = at + dirent64.d_name$offset();
            int nameLength = 0;
            while (nameAt + nameLength < at + reclen && dirents.get(U8, nameAt + nameLength) != 0) {
                nameLength++;
            }
            int entry = 13 + 8 + 1 + 2 + nameLength;
            if (outPos - start + entry > room) {
                break;
            }
            long ino = dirents.get(ValueLayout.JAVA_LONG, at + dirent64.d_ino$offset());
            int dtype = dirents.get(U8, at + dirent64.d_type$offset()) & 0xff;
            if (atRoot && nameLength == 2 && dirents.get(U8, nameAt) == '.' && dirents.get(U8, nameAt + 1) == '.') {
                ino = rootIno; // the root's parent is not the client's business
            }
            putU8(dtype == DT_DIR ? QTDIR : dtype == DT_LNK ? QTSYMLINK : QTFILE);
            putU32(0);
            putU64(ino);
            putU64(dirents.get(ValueLayout.JAVA_LONG, at + dirent64.d_off$offset()));
            putU8(dtype);
            putU16(nameLength);
            MemorySegment.copy(dirents, nameAt, out, outPos, nameLength);
            outPos += nameLength;
            at += reclen;
        }
        out.set(U32, countAt, outPos - start);
    }

    /** Tmkdir dfid[4] name[s] mode[4] gid[4] -> Rmkdir qid[13] */
    private void mkdir() throws P9Error {
        Fid dir = pathFid((int) u32());
        int length = readName(NAME_A);
        int mode = (int) u32();
        u32();
        mutation(length, NAME_A);
        check(P9Native.mkdirat(dir.pathFd, scratch.asSlice(NAME_A), mode & 07777));
        putQidOf(dir.pathFd, NAME_A);
    }

    /** Tsymlink fid[4] name[s] symtgt[s] gid[4] -> Rsymlink qid[13] */
    private void symlink() throws P9Error {
        Fid dir = pathFid((int) u32());
        int length = readName(NAME_A);
        int targetLength = u16();
        need(targetLength);
        int targetAt = inPos;
        inPos += targetLength;
        u32();
        mutation(length, NAME_A);
        if (targetLength == 0) {
            throw new P9Error(ENOENT);
        }
        if (targetLength > PATH_MAX) {
            throw new P9Error(ENAMETOOLONG);
        }
        for (int i = 0; i < targetLength; i++) {
            if (in.get(U8, targetAt + i) == 0) {
                throw new P9Error(EINVAL);
            }
        }
        // The target is stored, never followed by the server: what it names is the client's to resolve.
        MemorySegment.copy(in, targetAt, scratch, PATH, targetLength);
        scratch.set(U8, PATH + targetLength, (byte) 0);
        check(P9Native.symlinkat(scratch.asSlice(PATH), dir.pathFd, scratch.asSlice(NAME_A)));
        putQidOf(dir.pathFd, NAME_A);
    }

    /** Tmknod dfid[4] name[s] mode[4] major[4] minor[4] gid[4] -> Rmknod qid[13]; regular files and fifos only */
    private void mknod() throws P9Error {
        Fid dir = pathFid((int) u32());
        int length = readName(NAME_A);
        int mode = (int) u32();
        u32();
        u32();
        u32();
        mutation(length, NAME_A);
        int type = mode & S_IFMT;
        if (type != 0 && type != S_IFREG && type != S_IFIFO) {
            throw new P9Error(EPERM);
        }
        check(P9Native.mknodat(dir.pathFd, scratch.asSlice(NAME_A), (type == 0 ? S_IFREG : type) | (mode & 07777), 0));
        putQidOf(dir.pathFd, NAME_A);
    }

    /** Tlink dfid[4] fid[4] name[s] -> Rlink */
    private void link() throws P9Error {
        Fid dir = pathFid((int) u32());
        Fid target = pathFid((int) u32());
        int length = readName(NAME_A);
        mutation(length, NAME_A);
        if ((target.mode & S_IFMT) == S_IFDIR) {
            throw new P9Error(EPERM);
        }
        check(P9Native.linkat(procFd, procName(target.pathFd), dir.pathFd, scratch.asSlice(NAME_A), AT_SYMLINK_FOLLOW));
    }

    /** Trenameat olddirfid[4] oldname[s] newdirfid[4] newname[s] -> Rrenameat */
    private void renameat() throws P9Error {
        Fid from = pathFid((int) u32());
        int fromLength = readName(NAME_A);
        Fid to = pathFid((int) u32());
        int toLength = readName(NAME_B);
        mutation(fromLength, NAME_A);
        checkName(toLength, NAME_B);
        check(P9Native.renameat(from.pathFd, scratch.asSlice(NAME_A), to.pathFd, scratch.asSlice(NAME_B)));
    }

    /** Tunlinkat dirfd[4] name[s] flags[4] -> Runlinkat */
    private void unlinkat() throws P9Error {
        Fid dir = pathFid((int) u32());
        int length = readName(NAME_A);
        int flags = (int) u32();
        mutation(length, NAME_A);
        if ((flags & ~AT_REMOVEDIR) != 0) {
            throw new P9Error(EINVAL);
        }
        check(P9Native.unlinkat(dir.pathFd, scratch.asSlice(NAME_A), flags));
    }

    /** Treadlink fid[4] -> Rreadlink target[s] */
    private void readlink() throws P9Error {
        Fid f = pathFid((int) u32());
        if ((f.mode & S_IFMT) != S_IFLNK) {
            throw new P9Error(EINVAL);
        }
        MemorySegment buffer = scratch.asSlice(PATH, PATH_MAX + 1);
        int n = (int) check(P9Native.readlinkat(f.pathFd, scratch.asSlice(EMPTY), buffer));
        if (n > PATH_MAX) {
            throw new P9Error(ENAMETOOLONG);
        }
        putU16(n);
        need(0);
        room(n);
        MemorySegment.copy(scratch, PATH, out, outPos, n);
        outPos += n;
    }

    /** Tstatfs fid[4] -> Rstatfs type[4] bsize[4] blocks[8] bfree[8] bavail[8] files[8] ffree[8] fsid[8] namelen[4] */
    private void statfs() throws P9Error {
        Fid f = pathFid((int) u32());
        MemorySegment sf = scratch.asSlice(STATFS, statfs.sizeof());
        check(P9Native.fstatfs(f.pathFd, sf));
        putU32((int) statfs.f_type(sf));
        putU32((int) statfs.f_bsize(sf));
        putU64(statfs.f_blocks(sf));
        putU64(statfs.f_bfree(sf));
        putU64(statfs.f_bavail(sf));
        putU64(statfs.f_files(sf));
        putU64(statfs.f_ffree(sf));
        putU64(sf.get(ValueLayout.JAVA_LONG, statfs.f_fsid$offset()));
        putU32((int) statfs.f_namelen(sf));
    }

    /** Tfsync fid[4] datasync[4] -> Rfsync */
    private void fsync() throws P9Error {
        Fid f = pathFid((int) u32());
        int dataOnly = (int) u32();
        if (f.openFd < 0) {
            throw new P9Error(EBADF);
        }
        check(P9Native.fsync(f.openFd, dataOnly != 0));
    }

    /** Tlock fid[4] type[1] flags[4] start[8] length[8] proc_id[4] client_id[s] -> Rlock status[1] */
    private void lock() throws P9Error {
        fid((int) u32());
        u8();
        u32();
        u64();
        u64();
        u32();
        skipString();
        putU8(LOCK_SUCCESS);
    }

    /** Tgetlock fid[4] type[1] start[8] length[8] proc_id[4] client_id[s] -> Rgetlock type[1] start length proc_id client_id */
    private void getlock() throws P9Error {
        fid((int) u32());
        u8();
        long start = u64();
        long length = u64();
        int procId = (int) u32();
        int idLength = u16();
        need(idLength);
        putU8(LOCK_TYPE_UNLCK);
        putU64(start);
        putU64(length);
        putU32(procId);
        putU16(idLength);
        room(idLength);
        MemorySegment.copy(in, inPos, out, outPos, idLength);
        outPos += idLength;
        inPos += idLength;
    }

    /** Txattrwalk fid[4] newfid[4] name[s] -> Rxattrwalk size[8]; the list is empty and every attribute absent */
    private void xattrwalk() throws P9Error {
        int fidNumber = (int) u32();
        int newFidNumber = (int) u32();
        int length = u16();
        need(length);
        inPos += length;
        pathFid(fidNumber);
        if (length != 0) {
            throw new P9Error(ENODATA);
        }
        if (newFidNumber != fidNumber && fids.containsKey(newFidNumber)) {
            throw new P9Error(EBADF);
        }
        if (newFidNumber != fidNumber && fids.size() >= maxFids) {
            throw new P9Error(EMFILE);
        }
        Fid made = new Fid();
        made.xattr = true;
        if (newFidNumber == fidNumber) {
            closeFid(fids.remove(fidNumber));
        }
        fids.put(newFidNumber, made);
        putU64(0);
    }

    /** Txattrcreate fid[4] name[s] attr_size[8] flags[4] -> Rxattrcreate; refused */
    private void xattrcreate() throws P9Error {
        pathFid((int) u32());
        throw new P9Error(readOnly ? EROFS : EOPNOTSUPP);
    }

    /** Tflush oldtag[2] -> Rflush; requests are answered in order, so the old one is already done. */
    private void flush() throws P9Error {
        u16();
    }

    // ---- fids -----------------------------------------------------------------------------------------------

    private Fid fid(int number) throws P9Error {
        Fid f = fids.get(number);
        if (f == null) {
            throw new P9Error(EBADF);
        }
        return f;
    }

    /** A fid naming a file (not an xattr fid). */
    private Fid pathFid(int number) throws P9Error {
        Fid f = fid(number);
        if (f.xattr) {
            throw new P9Error(EBADF);
        }
        return f;
    }

    private Fid newFid(int pathFd) throws P9Error {
        Fid f = new Fid();
        try {
            fill(f, pathFd);
        } catch (P9Error e) {
            P9Native.close(pathFd);
            throw e;
        }
        return f;
    }

    private void fill(Fid f, int pathFd) throws P9Error {
        f.pathFd = pathFd;
        statFd(pathFd);
        MemorySegment st = scratch.asSlice(STAT);
        f.mode = stat.st_mode(st);
        f.dev = stat.st_dev(st);
        f.ino = stat.st_ino(st);
    }

    private void closeFid(Fid f) {
        if (f == null) {
            return;
        }
        if (f.openFd >= 0) {
            P9Native.close(f.openFd);
            openFiles--;
        }
        if (f.pathFd >= 0) {
            P9Native.close(f.pathFd);
        }
    }

    private void clunkAll() {
        for (Fid f : fids.values()) {
            closeFid(f);
        }
        fids.clear();
        openFiles = 0;
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    private void statFd(int fd) throws P9Error {
        check(P9Native.fstatat(fd, scratch.asSlice(EMPTY), scratch.asSlice(STAT), AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
    }

    private void putQidOf(int dirFd, long nameSlot) throws P9Error {
        check(P9Native.fstatat(dirFd, scratch.asSlice(nameSlot), scratch.asSlice(STAT), AT_SYMLINK_NOFOLLOW));
        MemorySegment st = scratch.asSlice(STAT);
        putQid(stat.st_mode(st), stat.st_ino(st), stat.st_mtim$offset());
    }

    /**
     * qid[13]: type[1] version[4] path[8], from the file in the STAT slot: the version from its mtime, the path its
     * inode number, mixed with its device's number when it is on another file system than the share's root (a mount
     * inside the share), so that two files never share a path.
     */
    private void putQid(int mode, long ino, long mtimeOffset) throws P9Error {
        int type = mode & S_IFMT;
        putU8(type == S_IFDIR ? QTDIR : type == S_IFLNK ? QTSYMLINK : QTFILE);
        long sec = scratch.get(ValueLayout.JAVA_LONG, STAT + mtimeOffset + timespec.tv_sec$offset());
        long nsec = scratch.get(ValueLayout.JAVA_LONG, STAT + mtimeOffset + timespec.tv_nsec$offset());
        putU32((int) (sec ^ nsec));
        long dev = scratch.get(ValueLayout.JAVA_LONG, STAT + stat.st_dev$offset());
        putU64(dev == rootDev ? ino : ino ^ Long.rotateLeft(dev, 40));
    }

    private void putTime(long offset) throws P9Error {
        putU64(scratch.get(ValueLayout.JAVA_LONG, STAT + offset + timespec.tv_sec$offset()));
        putU64(scratch.get(ValueLayout.JAVA_LONG, STAT + offset + timespec.tv_nsec$offset()));
    }

    private MemorySegment openHow(int flags, int mode, long resolve) {
        MemorySegment how = scratch.asSlice(OPEN_HOW, open_how.sizeof());
        open_how.flags(how, flags & 0xffffffffL);
        open_how.mode(how, mode);
        open_how.resolve(how, resolve);
        return how;
    }

    /** The decimal name of {@code fd} in /proc/self/fd, in the PROC_NAME slot. */
    private MemorySegment procName(int fd) {
        String digits = Integer.toString(fd);
        scratch.setString(PROC_NAME, digits);
        return scratch.asSlice(PROC_NAME);
    }

    /**
     * Reads a name string into {@code slot}, NUL-terminated. {@return its length, or -errno for a name Linux would
     * refuse (empty: ENOENT, over 255 bytes: ENAMETOOLONG, '/' or NUL: EINVAL)}, which the caller raises once the
     * message is read. A string that does not fit the message throws EPROTO.
     */
    private int readName(long slot) throws P9Error {
        int length = u16();
        need(length);
        int at = inPos;
        inPos += length;
        int errno = 0;
        if (length == 0) {
            errno = ENOENT;
        } else if (length > NAME_MAX) {
            errno = ENAMETOOLONG;
        } else {
            for (int i = 0; i < length; i++) {
                byte b = in.get(U8, at + i);
                if (b == '/' || b == 0) {
                    errno = EINVAL;
                    break;
                }
            }
        }
        if (errno != 0) {
            return -errno;
        }
        MemorySegment.copy(in, at, scratch, slot, length);
        scratch.set(U8, slot + length, (byte) 0);
        return length;
    }

    /**
     * Refuses a bad name (as {@link #readName} said), or {@code .} and {@code ..}, which no create, link, rename or
     * unlink may name ({@code EINVAL}).
     */
    private void checkName(int length, long slot) throws P9Error {
        if (length < 0) {
            throw new P9Error(-length);
        }
        if ((length == 1 && scratch.get(U8, slot) == '.') || (length == 2 && isDotDot(slot))) {
            throw new P9Error(EINVAL);
        }
    }

    private void mutation(int nameLength, long slot) throws P9Error {
        if (readOnly) {
            throw new P9Error(EROFS);
        }
        checkName(nameLength, slot);
    }

    private boolean isDotDot(long slot) {
        return scratch.get(U8, slot) == '.' && scratch.get(U8, slot + 1) == '.';
    }

    private static int check(int result) throws P9Error {
        if (result < 0) {
            throw new P9Error(-result);
        }
        return result;
    }

    private static long check(long result) throws P9Error {
        if (result < 0) {
            throw new P9Error((int) -result);
        }
        return result;
    }

    private void need(long bytes) throws P9Error {
        if (bytes > inEnd - inPos) {
            throw new P9Error(EPROTO);
        }
    }

    private void room(long bytes) throws P9Error {
        if (bytes > outLimit - outPos) {
            throw new P9Error(EMSGSIZE);
        }
    }

    private int u8() throws P9Error {
        need(1);
        return in.get(U8, inPos++) & 0xff;
    }

    private int u16() throws P9Error {
        need(2);
        int v = in.get(U16, inPos) & 0xffff;
        inPos += 2;
        return v;
    }

    private long u32() throws P9Error {
        need(4);
        long v = in.get(U32, inPos) & 0xffffffffL;
        inPos += 4;
        return v;
    }

    private long u64() throws P9Error {
        need(8);
        long v = in.get(U64, inPos);
        inPos += 8;
        return v;
    }

    private void skipString() throws P9Error {
        int length = u16();
        need(length);
        inPos += length;
    }

    private void putU8(int v) throws P9Error {
        room(1);
        out.set(U8, outPos++, (byte) v);
    }

    private void putU16(int v) throws P9Error {
        room(2);
        out.set(U16, outPos, (short) v);
        outPos += 2;
    }

    private void putU32(int v) throws P9Error {
        room(4);
        out.set(U32, outPos, v);
        outPos += 4;
    }

    private void putU64(long v) throws P9Error {
        room(8);
        out.set(U64, outPos, v);
        outPos += 8;
    }

    private void putString(String s) throws P9Error {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        putU16(bytes.length);
        room(bytes.length);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, out, outPos, bytes.length);
        outPos += bytes.length;
    }

    private static long align8(long n) {
        return (n + 7) & ~7L;
    }

    private static String errnoName(int errno) {
        return Errno.describe(errno);
    }

    @Override
    public String toString() {
        return "P9Server[" + root + (readOnly ? ", read-only" : "") + "]";
    }
}
