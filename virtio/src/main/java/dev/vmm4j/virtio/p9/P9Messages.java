// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.p9;

import java.nio.charset.StandardCharsets;

/**
 * The 9P2000.L wire constants: message types (an R-message is its T-message plus one), qid types, attribute masks.
 * Spelled as in Linux's {@code include/net/9p/9p.h}. Every message is framed as
 *
 * <pre>
 *  0      4      5     7
 *  +------+------+-----+---------------------------+
 *  | size | type | tag | body (little-endian)      |
 *  +------+------+-----+---------------------------+
 *  size[4] counts the whole message; strings are len[2] + bytes (no NUL); qid[13] = type[1] version[4] path[8].
 * </pre>
 */
public final class P9Messages {
    /** Tlerror: not a request anyone sends; its type number only makes {@link #RLERROR} one more. */
    public static final int TLERROR = 6;
    /** Rlerror ecode[4]: the reply to any failed request, with a Linux errno. */
    public static final int RLERROR = 7;
    /** Tstatfs fid[4]: file system statistics of the share. */
    public static final int TSTATFS = 8;
    /** Tlopen fid[4] flags[4]: opens the file an fid names, with Linux open flags. */
    public static final int TLOPEN = 12;
    /** Tlcreate fid[4] name[s] flags[4] mode[4] gid[4]: creates and opens a file in a directory fid. */
    public static final int TLCREATE = 14;
    /** Tsymlink fid[4] name[s] symtgt[s] gid[4]: creates a symlink in a directory fid. */
    public static final int TSYMLINK = 16;
    /** Tmknod dfid[4] name[s] mode[4] major[4] minor[4] gid[4]: creates a device node, fifo or socket. */
    public static final int TMKNOD = 18;
    /** Trename fid[4] dfid[4] name[s]: renames an fid; this server answers {@code EOPNOTSUPP}. */
    public static final int TRENAME = 20;
    /** Treadlink fid[4]: the target of a symlink fid. */
    public static final int TREADLINK = 22;
    /** Tgetattr fid[4] request_mask[8]: a file's attributes, as {@code stat} gives them. */
    public static final int TGETATTR = 24;
    /** Tsetattr fid[4] valid[4] ...: changes the attributes that the {@code SETATTR_*} bits in valid name. */
    public static final int TSETATTR = 26;
    /** Txattrwalk fid[4] newfid[4] name[s]: reads an extended attribute, or the list of them. */
    public static final int TXATTRWALK = 30;
    /** Txattrcreate fid[4] name[s] attr_size[8] flags[4]: sets an extended attribute. */
    public static final int TXATTRCREATE = 32;
    /** Treaddir fid[4] offset[8] count[4]: directory entries of an open directory fid. */
    public static final int TREADDIR = 40;
    /** Tfsync fid[4] datasync[4]: makes an open file's writes durable. */
    public static final int TFSYNC = 50;
    /** Tlock: takes or releases a POSIX byte-range lock; this server grants every one without locking. */
    public static final int TLOCK = 52;
    /** Tgetlock: tests for a conflicting POSIX lock; this server always reports none. */
    public static final int TGETLOCK = 54;
    /** Tlink dfid[4] fid[4] name[s]: makes a hard link to an fid's file in a directory fid. */
    public static final int TLINK = 70;
    /** Tmkdir dfid[4] name[s] mode[4] gid[4]: creates a directory. */
    public static final int TMKDIR = 72;
    /** Trenameat olddirfid[4] oldname[s] newdirfid[4] newname[s]: renames a directory entry. */
    public static final int TRENAMEAT = 74;
    /** Tunlinkat dirfd[4] name[s] flags[4]: removes a directory entry (a directory with {@code AT_REMOVEDIR}). */
    public static final int TUNLINKAT = 76;
    /** Tversion msize[4] version[s]: starts a session and negotiates the largest message size. */
    public static final int TVERSION = 100;
    /** Tauth: sets up authentication; this server answers {@code EOPNOTSUPP}, so attach with {@link #NOFID}. */
    public static final int TAUTH = 102;
    /** Tattach fid[4] afid[4] uname[s] aname[s] n_uname[4]: binds an fid to the share's root. */
    public static final int TATTACH = 104;
    /** Tflush oldtag[2]: aborts a pending request; answered at once, since none is ever pending here. */
    public static final int TFLUSH = 108;
    /** Twalk fid[4] newfid[4] nwname[2] nwname*(wname[s]): walks names from an fid to a new fid. */
    public static final int TWALK = 110;
    /** Topen (9P2000, not .L): this server answers {@code EOPNOTSUPP}; .L clients send {@link #TLOPEN}. */
    public static final int TOPEN = 112;
    /** Tcreate (9P2000, not .L): this server answers {@code EOPNOTSUPP}; .L clients send {@link #TLCREATE}. */
    public static final int TCREATE = 114;
    /** Tread fid[4] offset[8] count[4]: reads from an open fid. */
    public static final int TREAD = 116;
    /** Twrite fid[4] offset[8] count[4] data[count]: writes to an open fid. */
    public static final int TWRITE = 118;
    /** Tclunk fid[4]: forgets an fid, closing what it holds. */
    public static final int TCLUNK = 120;
    /**
     * Tremove fid[4]: removes the file and clunks the fid; this server clunks and answers {@code EOPNOTSUPP}
     * ({@code EROFS} on a read-only share).
     */
    public static final int TREMOVE = 122;
    /** Tstat (9P2000, not .L): this server answers {@code EOPNOTSUPP}; .L clients send {@link #TGETATTR}. */
    public static final int TSTAT = 124;
    /** Twstat (9P2000, not .L): this server answers {@code EOPNOTSUPP}; .L clients send {@link #TSETATTR}. */
    public static final int TWSTAT = 126;

    /** The fid meaning "none" (an attach without authentication). */
    public static final int NOFID = ~0;
    /** The tag of a Tversion. */
    public static final int NOTAG = 0xffff;

    /** Qid type bit: a directory. */
    public static final int QTDIR = 0x80;
    /** Qid type bit: a symlink. */
    public static final int QTSYMLINK = 0x02;
    /** Qid type: a plain file (and anything else that is neither a directory nor a symlink). */
    public static final int QTFILE = 0x00;

    /** Rgetattr's valid mask for the fields every server fills (mode through blocks). */
    public static final long GETATTR_BASIC = 0x7ffL;

    /** Tsetattr valid bit: set the permission bits (not on a symlink). */
    public static final int SETATTR_MODE = 0x1;
    /** Tsetattr valid bit: set the owner. */
    public static final int SETATTR_UID = 0x2;
    /** Tsetattr valid bit: set the group. */
    public static final int SETATTR_GID = 0x4;
    /** Tsetattr valid bit: truncate or extend a regular file to the size given. */
    public static final int SETATTR_SIZE = 0x8;
    /** Tsetattr valid bit: set the access time, to now unless {@link #SETATTR_ATIME_SET} is set too. */
    public static final int SETATTR_ATIME = 0x10;
    /** Tsetattr valid bit: set the modification time, to now unless {@link #SETATTR_MTIME_SET} is set too. */
    public static final int SETATTR_MTIME = 0x20;
    /** Tsetattr valid bit: update the change time; the kernel does that with any change, so alone it does nothing. */
    public static final int SETATTR_CTIME = 0x40;
    /** Tsetattr valid bit: the access time is the one given, not now. */
    public static final int SETATTR_ATIME_SET = 0x80;
    /** Tsetattr valid bit: the modification time is the one given, not now. */
    public static final int SETATTR_MTIME_SET = 0x100;

    /** Rlock status: the lock was granted. */
    public static final int LOCK_SUCCESS = 0;
    /** Rgetlock type: no lock conflicts (the only answer this server gives). */
    public static final int LOCK_TYPE_UNLCK = 2;

    /** {@code d_type} of a directory entry that is a directory. */
    public static final int DT_DIR = 4;

    /** {@code d_type} of a directory entry that is a symlink. */
    public static final int DT_LNK = 10;

    static final byte[] VERSION_9P2000_L = "9P2000.L".getBytes(StandardCharsets.US_ASCII);

    private P9Messages() {}
}
