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
    public static final int TLERROR = 6;
    public static final int RLERROR = 7;
    public static final int TSTATFS = 8;
    public static final int TLOPEN = 12;
    public static final int TLCREATE = 14;
    public static final int TSYMLINK = 16;
    public static final int TMKNOD = 18;
    public static final int TRENAME = 20;
    public static final int TREADLINK = 22;
    public static final int TGETATTR = 24;
    public static final int TSETATTR = 26;
    public static final int TXATTRWALK = 30;
    public static final int TXATTRCREATE = 32;
    public static final int TREADDIR = 40;
    public static final int TFSYNC = 50;
    public static final int TLOCK = 52;
    public static final int TGETLOCK = 54;
    public static final int TLINK = 70;
    public static final int TMKDIR = 72;
    public static final int TRENAMEAT = 74;
    public static final int TUNLINKAT = 76;
    public static final int TVERSION = 100;
    public static final int TAUTH = 102;
    public static final int TATTACH = 104;
    public static final int TFLUSH = 108;
    public static final int TWALK = 110;
    public static final int TOPEN = 112;
    public static final int TCREATE = 114;
    public static final int TREAD = 116;
    public static final int TWRITE = 118;
    public static final int TCLUNK = 120;
    public static final int TREMOVE = 122;
    public static final int TSTAT = 124;
    public static final int TWSTAT = 126;

    /** The fid meaning "none" (an attach without authentication). */
    public static final int NOFID = ~0;
    /** The tag of a Tversion. */
    public static final int NOTAG = 0xffff;

    public static final int QTDIR = 0x80;
    public static final int QTSYMLINK = 0x02;
    public static final int QTFILE = 0x00;

    /** Rgetattr's valid mask for the fields every server fills (mode through blocks). */
    public static final long GETATTR_BASIC = 0x7ffL;

    public static final int SETATTR_MODE = 0x1;
    public static final int SETATTR_UID = 0x2;
    public static final int SETATTR_GID = 0x4;
    public static final int SETATTR_SIZE = 0x8;
    public static final int SETATTR_ATIME = 0x10;
    public static final int SETATTR_MTIME = 0x20;
    public static final int SETATTR_CTIME = 0x40;
    public static final int SETATTR_ATIME_SET = 0x80;
    public static final int SETATTR_MTIME_SET = 0x100;

    public static final int LOCK_SUCCESS = 0;
    public static final int LOCK_TYPE_UNLCK = 2;

    /** {@code d_type} values of a directory entry. */
    public static final int DT_DIR = 4;

    public static final int DT_LNK = 10;

    static final byte[] VERSION_9P2000_L = "9P2000.L".getBytes(StandardCharsets.US_ASCII);

    private P9Messages() {}
}
