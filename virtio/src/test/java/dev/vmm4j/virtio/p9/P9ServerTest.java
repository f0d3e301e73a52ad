// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.p9;

import static dev.vmm4j.virtio.p9.P9Messages.*;
import static dev.vmm4j.virtio.p9.P9TestClient.message;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.virtio.p9.P9TestClient.Qid;
import dev.vmm4j.virtio.p9.P9TestClient.Reply;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One test (or a few) per 9P2000.L message against a temporary directory, with the exact errno of each failure. */
class P9ServerTest {
    // Linux x86-64 errno values, as the guest sees them.
    private static final int EPERM = 1;
    private static final int ENOENT = 2;
    private static final int EBADF = 9;
    private static final int EACCES = 13;
    private static final int EEXIST = 17;
    private static final int ENOTDIR = 20;
    private static final int EISDIR = 21;
    private static final int EINVAL = 22;
    private static final int ENFILE = 23;
    private static final int EMFILE = 24;
    private static final int EROFS = 30;
    private static final int ENAMETOOLONG = 36;
    private static final int ENOTEMPTY = 39;
    private static final int ELOOP = 40;
    private static final int ENODATA = 61;
    private static final int EPROTO = 71;
    private static final int EMSGSIZE = 90;
    private static final int EOPNOTSUPP = 95;

    private static final int O_RDONLY = 0;
    private static final int O_WRONLY = 1;
    private static final int O_RDWR = 2;
    private static final int O_CREAT = 0100;
    private static final int O_EXCL = 0200;
    private static final int O_TRUNC = 01000;
    private static final int AT_REMOVEDIR = 0x200;

    @TempDir
    Path tmp;

    Path share;
    Path outside;
    P9Server server;
    P9TestClient client;

    @BeforeEach
    void setUp() throws IOException {
        share = Files.createDirectory(tmp.resolve("share"));
        outside = Files.createDirectory(tmp.resolve("outside"));
        Files.writeString(outside.resolve("secret"), "outside secret");
        Files.writeString(share.resolve("file"), "hello, 9p");
        Files.createDirectories(share.resolve("dir/sub"));
        Files.writeString(share.resolve("dir/inner"), "inner");
        Files.createSymbolicLink(share.resolve("escape-file"), outside.resolve("secret"));
        Files.createSymbolicLink(share.resolve("escape-dir"), outside);
        Files.createSymbolicLink(share.resolve("escape-dangling"), outside.resolve("created-by-guest"));
        Files.createSymbolicLink(share.resolve("relative-up"), Path.of("../outside/secret"));
        server = P9Server.open(share, false);
        client = new P9TestClient(server).start();
    }

    @AfterEach
    void tearDown() throws IOException {
        server.close();
        assertEquals("outside secret", Files.readString(outside.resolve("secret")));
        assertFalse(Files.exists(outside.resolve("created-by-guest")));
        try (var list = Files.list(outside)) {
            assertEquals(1, list.count(), "nothing was created outside the share");
        }
    }

    private P9Server readOnlyServer() throws IOException {
        server.close();
        server = P9Server.open(share, true);
        client = new P9TestClient(server).start();
        return server;
    }

    // ---- Tversion ----

    @Test
    void versionNegotiatesAndCapsTheMsize() {
        Reply r = client.send(message(TVERSION).u32(1 << 30).str("9P2000.L")).expect(TVERSION + 1);
        assertEquals(P9Server.MAX_MSIZE, r.body().getInt());
        r = client.send(message(TVERSION).u32(16384).str("9P2000.L")).expect(TVERSION + 1);
        assertEquals(16384, r.body().getInt());
        assertEquals(16384, server.msize());
    }

    @Test
    void versionOtherThan9P2000LIsUnknown() {
        Reply r = client.send(message(TVERSION).u32(8192).str("9P2000.u")).expect(TVERSION + 1);
        r.body().getInt();
        byte[] v = new byte[r.body().getShort()];
        r.body().get(v);
        assertEquals("unknown", new String(v, StandardCharsets.US_ASCII));
    }

    @Test
    void versionWithATinyMsizeIsEinval() {
        assertEquals(
                EINVAL, client.send(message(TVERSION).u32(100).str("9P2000.L")).errno());
    }

    @Test
    void versionClunksEveryFid() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        assertEquals(2, server.fidCount());
        client.send(message(TVERSION).u32(8192).str("9P2000.L")).expect(TVERSION + 1);
        assertEquals(0, server.fidCount());
    }

    // ---- Tattach ----

    @Test
    void attachGivesTheRootDirectory() {
        Qid q = client.attach(7).expect(TATTACH + 1).qid();
        assertEquals(QTDIR, q.type());
    }

    @Test
    void attachToAFidInUseIsEbadf() {
        assertEquals(EBADF, client.attach(0).errno());
    }

    // ---- Twalk ----

    @Test
    void walkReturnsAQidPerName() {
        List<Qid> qids = client.walkQids(client.walk(0, 1, "dir", "sub"));
        assertEquals(2, qids.size());
        assertEquals(QTDIR, qids.get(1).type());
        assertEquals(2, server.fidCount());
    }

    @Test
    void walkWithNoNamesClonesTheFid() {
        assertEquals(0, client.walkQids(client.walk(0, 1)).size());
        client.getattr(1).expect(TGETATTR + 1);
    }

    @Test
    void walkThatFailsAtTheFirstNameIsAnError() {
        assertEquals(ENOENT, client.walk(0, 1, "missing").errno());
        assertEquals(1, server.fidCount());
    }

    @Test
    void walkThatFailsLaterIsPartialAndMakesNoFid() {
        assertEquals(
                1, client.walkQids(client.walk(0, 1, "dir", "missing", "x")).size());
        assertEquals(EBADF, client.getattr(1).errno());
    }

    @Test
    void walkOfDotDotAtTheRootStaysAtTheRoot() {
        Qid root = client.attach(1).expect(TATTACH + 1).qid();
        List<Qid> qids = client.walkQids(client.walk(0, 2, "..", "..", "dir", "..", ".."));
        assertEquals(5, qids.size());
        assertEquals(root.path(), qids.get(0).path());
        assertEquals(root.path(), qids.get(1).path());
        assertEquals(root.path(), qids.get(3).path());
        assertEquals(root.path(), qids.get(4).path());
        Reply r = client.walk(2, 3, "file");
        assertEquals(1, client.walkQids(r).size(), "fid 2 is the share's root");
    }

    @Test
    void walkNamesWithSlashNulOrOverlongAreRefused() {
        assertEquals(EINVAL, client.walk(0, 1, "dir/sub").errno());
        assertEquals(EINVAL, client.walk(0, 1, "../outside").errno());
        assertEquals(EINVAL, client.walk(0, 1, "fi\0le").errno());
        assertEquals(ENAMETOOLONG, client.walk(0, 1, "a".repeat(256)).errno());
        assertEquals(ENOENT, client.walk(0, 1, "").errno());
        assertEquals(EINVAL, client.walk(0, 1, "x".repeat(17).split("")).errno(), "more than 16 names");
    }

    @Test
    void walkOpensASymlinkAsItselfAndNeverFollowsIt() {
        List<Qid> qids = client.walkQids(client.walk(0, 1, "escape-file"));
        assertEquals(QTSYMLINK, qids.getFirst().type());
        assertEquals(ELOOP, client.lopen(1, O_RDONLY).errno());
        // a symlink is not a directory to walk through: the walk stops there (partial, no fid made)
        assertEquals(
                1, client.walkQids(client.walk(0, 2, "escape-dir", "secret")).size());
        assertEquals(1, client.walkQids(client.walk(0, 2, "relative-up", "x")).size());
        assertEquals(EBADF, client.getattr(2).errno());
        client.walk(0, 3, "escape-dir").expect(TWALK + 1);
        assertEquals(ENOTDIR, client.walk(3, 4, "secret").errno());
    }

    @Test
    void walkToAFidInUseIsEbadf() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        assertEquals(EBADF, client.walk(0, 1, "dir").errno());
    }

    @Test
    void walkOfAnUnknownFidIsEbadf() {
        assertEquals(EBADF, client.walk(42, 1, "file").errno());
    }

    @Test
    void walkOntoItselfReplacesTheFid() {
        client.walk(0, 1, "dir").expect(TWALK + 1);
        client.walk(1, 1, "inner").expect(TWALK + 1);
        client.lopen(1, O_RDONLY).expect(TLOPEN + 1);
        assertEquals("inner", new String(client.readBytes(1, 0, 100), StandardCharsets.UTF_8));
    }

    // ---- Tgetattr / Tsetattr ----

    @Test
    void getattrReportsTheFile() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        Reply r = client.getattr(1).expect(TGETATTR + 1);
        ByteBuffer b = r.body();
        assertEquals(GETATTR_BASIC, b.getLong());
        assertEquals(QTFILE, r.qid().type());
        int mode = b.getInt();
        assertEquals(0100000, mode & 0170000);
        b.getInt();
        b.getInt();
        assertEquals(1, b.getLong());
        b.getLong();
        assertEquals(9, b.getLong(), "size");
    }

    @Test
    void getattrOfAnUnknownFidIsEbadf() {
        assertEquals(EBADF, client.getattr(9).errno());
    }

    @Test
    void setattrChangesModeSizeAndTimes() throws IOException {
        client.walk(0, 1, "file").expect(TWALK + 1);
        int valid = SETATTR_MODE | SETATTR_SIZE | SETATTR_MTIME | SETATTR_MTIME_SET | SETATTR_ATIME;
        client.send(message(TSETATTR)
                        .u32(1)
                        .u32(valid)
                        .u32(0640)
                        .u32(0)
                        .u32(0)
                        .u64(4)
                        .u64(0)
                        .u64(0)
                        .u64(1_000_000)
                        .u64(5))
                .expect(TSETATTR + 1);
        assertEquals("hell", Files.readString(share.resolve("file")));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(share.resolve("file"))));
        assertEquals(
                FileTime.from(Instant.ofEpochSecond(1_000_000, 5)), Files.getLastModifiedTime(share.resolve("file")));
    }

    @Test
    void setattrSizeOfADirectoryIsEisdir() {
        client.walk(0, 1, "dir").expect(TWALK + 1);
        Reply r = client.send(message(TSETATTR)
                .u32(1)
                .u32(SETATTR_SIZE)
                .u32(0)
                .u32(0)
                .u32(0)
                .u64(0)
                .u64(0)
                .u64(0)
                .u64(0)
                .u64(0));
        assertEquals(EISDIR, r.errno());
    }

    @Test
    void setattrModeOfASymlinkIsRefusedAndTheTargetUntouched() {
        client.walk(0, 1, "escape-file").expect(TWALK + 1);
        Reply r = client.send(message(TSETATTR)
                .u32(1)
                .u32(SETATTR_MODE)
                .u32(0777)
                .u32(0)
                .u32(0)
                .u64(0)
                .u64(0)
                .u64(0)
                .u64(0)
                .u64(0));
        assertEquals(EOPNOTSUPP, r.errno());
        Reply t = client.send(message(TSETATTR)
                .u32(1)
                .u32(SETATTR_SIZE)
                .u32(0)
                .u32(0)
                .u32(0)
                .u64(0)
                .u64(0)
                .u64(0)
                .u64(0)
                .u64(0));
        assertEquals(EINVAL, t.errno());
    }

    @Test
    void setattrOnAReadOnlyShareIsErofs() throws IOException {
        readOnlyServer();
        client.walk(0, 1, "file").expect(TWALK + 1);
        Reply r = client.send(message(TSETATTR)
                .u32(1)
                .u32(SETATTR_SIZE)
                .u32(0)
                .u32(0)
                .u32(0)
                .u64(0)
                .u64(0)
                .u64(0)
                .u64(0)
                .u64(0));
        assertEquals(EROFS, r.errno());
    }

    // ---- Tlopen / Tread / Twrite / Tclunk ----

    @Test
    void lopenAndReadAFile() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        client.lopen(1, O_RDONLY).expect(TLOPEN + 1);
        assertEquals("hello, 9p", new String(client.readBytes(1, 0, 4096), StandardCharsets.UTF_8));
        assertEquals("9p", new String(client.readBytes(1, 7, 4096), StandardCharsets.UTF_8));
        assertEquals(0, client.readBytes(1, 100, 4096).length);
        assertEquals(1, server.openFileCount());
    }

    @Test
    void lopenTwiceIsEbadf() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        client.lopen(1, O_RDONLY).expect(TLOPEN + 1);
        assertEquals(EBADF, client.lopen(1, O_RDONLY).errno());
    }

    @Test
    void lopenWithAccessModeThreeIsEinval() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        assertEquals(EINVAL, client.lopen(1, 3).errno());
    }

    @Test
    void lopenForWritingOnAReadOnlyShareIsErofs() throws IOException {
        readOnlyServer();
        client.walk(0, 1, "file").expect(TWALK + 1);
        assertEquals(EROFS, client.lopen(1, O_WRONLY).errno());
        assertEquals(EROFS, client.lopen(1, O_RDONLY | O_TRUNC).errno());
        client.lopen(1, O_RDONLY).expect(TLOPEN + 1);
        assertEquals(EROFS, client.write(1, 0, new byte[] {1}).errno());
    }

    @Test
    void readOfAFidNotOpenedIsEbadf() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        assertEquals(EBADF, client.read(1, 0, 10).errno());
        assertEquals(EBADF, client.write(1, 0, new byte[] {1}).errno());
    }

    @Test
    void readOfADirectoryIsEisdir() {
        client.walk(0, 1, "dir").expect(TWALK + 1);
        client.lopen(1, O_RDONLY).expect(TLOPEN + 1);
        assertEquals(EISDIR, client.read(1, 0, 10).errno());
    }

    @Test
    void readIsBoundedByTheReplyCapacityAndMsize() throws IOException {
        Files.write(share.resolve("big"), new byte[100_000]);
        client.walk(0, 1, "big").expect(TWALK + 1);
        client.lopen(1, O_RDONLY).expect(TLOPEN + 1);
        client.replyCapacity = 1000;
        assertEquals(1000 - 11, client.readBytes(1, 0, 100_000).length);
        client.replyCapacity = 10;
        assertNull(client.read(1, 0, 10), "no room even for Rlerror: no reply");
    }

    @Test
    void writeAndReadBack() throws IOException {
        client.walk(0, 1, "file").expect(TWALK + 1);
        client.lopen(1, O_RDWR).expect(TLOPEN + 1);
        Reply r = client.write(1, 7, "P9!".getBytes(StandardCharsets.UTF_8)).expect(TWRITE + 1);
        assertEquals(3, r.body().getInt());
        assertEquals("hello, P9!", Files.readString(share.resolve("file")));
    }

    @Test
    void writeWithACountPastTheMessageIsEproto() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        client.lopen(1, O_RDWR).expect(TLOPEN + 1);
        Reply r = client.send(message(TWRITE).u32(1).u64(0).u32(1000).data(new byte[10]));
        assertEquals(EPROTO, r.errno());
    }

    @Test
    void clunkReleasesTheFidOnce() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        client.lopen(1, O_RDONLY).expect(TLOPEN + 1);
        client.clunk(1).expect(TCLUNK + 1);
        assertEquals(0, server.openFileCount());
        assertEquals(EBADF, client.clunk(1).errno());
    }

    // ---- Tlcreate ----

    @Test
    void lcreateMakesAndOpensAFile() throws IOException {
        client.walk(0, 1, "dir").expect(TWALK + 1);
        assertEquals(
                QTFILE,
                client.lcreate(1, "new", O_RDWR | O_CREAT, 0600)
                        .expect(TLCREATE + 1)
                        .qid()
                        .type());
        client.write(1, 0, "made".getBytes(StandardCharsets.UTF_8)).expect(TWRITE + 1);
        assertEquals("made", Files.readString(share.resolve("dir/new")));
    }

    @Test
    void lcreateOverAnExistingFileWithExclIsEexist() {
        assertEquals(
                EEXIST,
                client.lcreate(0, "file", O_RDWR | O_CREAT | O_EXCL, 0600).errno());
    }

    @Test
    void lcreateThroughAPlantedSymlinkIsEloop() {
        client.walk(0, 1).expect(TWALK + 1);
        assertEquals(
                ELOOP,
                client.lcreate(1, "escape-dangling", O_RDWR | O_CREAT, 0600).errno());
        assertEquals(
                ELOOP,
                client.lcreate(1, "escape-file", O_RDWR | O_CREAT | O_TRUNC, 0600)
                        .errno());
    }

    @Test
    void lcreateOfAnExistingFileOpensIt() throws IOException {
        client.walk(0, 1).expect(TWALK + 1);
        client.lcreate(1, "file", O_RDWR | O_CREAT | O_TRUNC, 0600).expect(TLCREATE + 1);
        assertEquals("", Files.readString(share.resolve("file")));
        client.walk(0, 2).expect(TWALK + 1);
        assertEquals(EISDIR, client.lcreate(2, "dir", O_RDONLY | O_CREAT, 0600).errno());
    }

    @Test
    void lcreateOfAnExistingFifoNeitherBlocksNorHangs() {
        client.send(message(TMKNOD)
                        .u32(0)
                        .str("fifo")
                        .u32(0010644)
                        .u32(0)
                        .u32(0)
                        .u32(0))
                .expect(TMKNOD + 1);
        client.walk(0, 1).expect(TWALK + 1);
        client.lcreate(1, "fifo", O_RDONLY | O_CREAT, 0600).expect(TLCREATE + 1);
        client.clunk(1).expect(TCLUNK + 1);
        client.walk(0, 2).expect(TWALK + 1);
        assertEquals(6, client.lcreate(2, "fifo", O_WRONLY | O_CREAT, 0600).errno(), "ENXIO: no reader");
    }

    @Test
    void lcreateWithBadNamesIsRefused() {
        client.walk(0, 1).expect(TWALK + 1);
        assertEquals(EINVAL, client.lcreate(1, "a/b", O_RDWR | O_CREAT, 0600).errno());
        assertEquals(EINVAL, client.lcreate(1, "..", O_RDWR | O_CREAT, 0600).errno());
        assertEquals(EINVAL, client.lcreate(1, ".", O_RDWR | O_CREAT, 0600).errno());
        assertEquals(
                ENAMETOOLONG,
                client.lcreate(1, "n".repeat(300), O_RDWR | O_CREAT, 0600).errno());
    }

    @Test
    void lcreateOnAReadOnlyShareIsErofs() throws IOException {
        readOnlyServer();
        assertEquals(EROFS, client.lcreate(0, "new", O_RDWR | O_CREAT, 0600).errno());
    }

    // ---- Treaddir ----

    @Test
    void readdirListsTheDirectory() throws IOException {
        for (int i = 0; i < 300; i++) {
            Files.writeString(share.resolve("dir/sub/entry-" + i), "");
        }
        client.walk(0, 1, "dir", "sub").expect(TWALK + 1);
        client.lopen(1, O_RDONLY).expect(TLOPEN + 1);
        List<String> names = client.readdir(1);
        assertEquals(302, names.size());
        assertTrue(names.contains("entry-299"));
        assertTrue(names.contains(".."));
    }

    @Test
    void readdirOfAFidNotOpenedIsEbadf() {
        client.walk(0, 1, "dir").expect(TWALK + 1);
        assertEquals(
                EBADF, client.send(message(TREADDIR).u32(1).u64(0).u32(4096)).errno());
    }

    // ---- Tmkdir / Tsymlink / Tmknod / Tlink ----

    @Test
    void mkdirMakesADirectory() {
        assertEquals(
                QTDIR, client.mkdir(0, "made", 0755).expect(TMKDIR + 1).qid().type());
        assertTrue(Files.isDirectory(share.resolve("made")));
        assertEquals(EEXIST, client.mkdir(0, "made", 0755).errno());
        assertEquals(EINVAL, client.mkdir(0, "..", 0755).errno());
        assertEquals(EEXIST, client.mkdir(0, "escape-dir", 0755).errno());
    }

    @Test
    void symlinkIsStoredAndReadBackButNeverFollowed() throws IOException {
        Reply r = client.send(
                message(TSYMLINK).u32(0).str("link").str("/etc/passwd").u32(0));
        assertEquals(QTSYMLINK, r.expect(TSYMLINK + 1).qid().type());
        assertEquals(Path.of("/etc/passwd"), Files.readSymbolicLink(share.resolve("link")));
        client.walk(0, 1, "link").expect(TWALK + 1);
        Reply t = client.send(message(TREADLINK).u32(1)).expect(TREADLINK + 1);
        byte[] target = new byte[t.body().getShort()];
        t.body().get(target);
        assertEquals("/etc/passwd", new String(target, StandardCharsets.UTF_8));
        assertEquals(ELOOP, client.lopen(1, O_RDONLY).errno());
    }

    @Test
    void symlinkTargetWithNulIsEinval() {
        assertEquals(
                EINVAL,
                client.send(message(TSYMLINK).u32(0).str("l").str("a\0b").u32(0))
                        .errno());
        assertEquals(
                ENOENT,
                client.send(message(TSYMLINK).u32(0).str("l").str("").u32(0)).errno());
    }

    @Test
    void readlinkOfAFileIsEinval() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        assertEquals(EINVAL, client.send(message(TREADLINK).u32(1)).errno());
    }

    @Test
    void mknodMakesRegularFilesAndFifosOnly() {
        client.send(message(TMKNOD).u32(0).str("reg").u32(0100644).u32(0).u32(0).u32(0))
                .expect(TMKNOD + 1);
        client.send(message(TMKNOD)
                        .u32(0)
                        .str("fifo")
                        .u32(0010644)
                        .u32(0)
                        .u32(0)
                        .u32(0))
                .expect(TMKNOD + 1);
        assertTrue(Files.isRegularFile(share.resolve("reg")));
        assertEquals(
                EPERM,
                client.send(message(TMKNOD)
                                .u32(0)
                                .str("chr")
                                .u32(0020644)
                                .u32(1)
                                .u32(3)
                                .u32(0))
                        .errno());
        assertEquals(
                EPERM,
                client.send(message(TMKNOD)
                                .u32(0)
                                .str("sock")
                                .u32(0140644)
                                .u32(0)
                                .u32(0)
                                .u32(0))
                        .errno());
        // a fifo opens without blocking the server
        client.walk(0, 1, "fifo").expect(TWALK + 1);
        client.lopen(1, O_RDONLY).expect(TLOPEN + 1);
    }

    @Test
    void linkMakesAHardLink() throws IOException {
        client.walk(0, 1, "file").expect(TWALK + 1);
        client.walk(0, 2, "dir").expect(TWALK + 1);
        client.send(message(TLINK).u32(2).u32(1).str("hard")).expect(TLINK + 1);
        assertTrue(Files.isSameFile(share.resolve("file"), share.resolve("dir/hard")));
        client.walk(0, 3, "dir").expect(TWALK + 1);
        assertEquals(
                EPERM, client.send(message(TLINK).u32(0).u32(3).str("dirlink")).errno());
    }

    @Test
    void linkOfASymlinkLinksTheSymlinkNotItsTarget() throws IOException {
        client.walk(0, 1, "escape-file").expect(TWALK + 1);
        client.send(message(TLINK).u32(0).u32(1).str("hard-symlink")).expect(TLINK + 1);
        assertTrue(Files.isSymbolicLink(share.resolve("hard-symlink")));
        assertEquals(1, Files.getAttribute(outside.resolve("secret"), "unix:nlink"));
    }

    // ---- Trenameat / Trename / Tunlinkat / Tremove ----

    @Test
    void renameatMovesAcrossDirectories() {
        client.walk(0, 1, "dir", "sub").expect(TWALK + 1);
        client.send(message(TRENAMEAT).u32(0).str("file").u32(1).str("moved")).expect(TRENAMEAT + 1);
        assertTrue(Files.exists(share.resolve("dir/sub/moved")));
        assertEquals(
                ENOENT,
                client.send(message(TRENAMEAT).u32(0).str("file").u32(1).str("again"))
                        .errno());
        assertEquals(
                EINVAL,
                client.send(message(TRENAMEAT).u32(1).str("moved").u32(0).str("../x"))
                        .errno());
    }

    @Test
    void renameIsLeftToRenameat() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        assertEquals(
                EOPNOTSUPP, client.send(message(TRENAME).u32(1).u32(0).str("x")).errno());
    }

    @Test
    void unlinkatRemovesFilesAndDirectories() throws IOException {
        client.unlinkat(0, "file", 0).expect(TUNLINKAT + 1);
        assertFalse(Files.exists(share.resolve("file")));
        assertEquals(EISDIR, client.unlinkat(0, "dir", 0).errno());
        assertEquals(ENOTEMPTY, client.unlinkat(0, "dir", AT_REMOVEDIR).errno());
        client.walk(0, 1, "dir").expect(TWALK + 1);
        client.unlinkat(1, "sub", AT_REMOVEDIR).expect(TUNLINKAT + 1);
        assertEquals(EINVAL, client.unlinkat(0, "dir", 1).errno());
        assertEquals(EINVAL, client.unlinkat(1, "..", AT_REMOVEDIR).errno());
        client.unlinkat(0, "escape-file", 0).expect(TUNLINKAT + 1);
        assertTrue(Files.exists(outside.resolve("secret")), "unlinking a symlink leaves its target");
    }

    @Test
    void removeClunksAndIsLeftToUnlinkat() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        assertEquals(EOPNOTSUPP, client.send(message(TREMOVE).u32(1)).errno());
        assertEquals(EBADF, client.clunk(1).errno());
        assertTrue(Files.exists(share.resolve("file")));
    }

    @Test
    void everyMutationOnAReadOnlyShareIsErofs() throws IOException {
        readOnlyServer();
        assertEquals(EROFS, client.mkdir(0, "d", 0755).errno());
        assertEquals(
                EROFS,
                client.send(message(TSYMLINK).u32(0).str("l").str("t").u32(0)).errno());
        assertEquals(
                EROFS,
                client.send(message(TMKNOD)
                                .u32(0)
                                .str("n")
                                .u32(0100644)
                                .u32(0)
                                .u32(0)
                                .u32(0))
                        .errno());
        client.walk(0, 1, "file").expect(TWALK + 1);
        assertEquals(EROFS, client.send(message(TLINK).u32(0).u32(1).str("h")).errno());
        assertEquals(
                EROFS,
                client.send(message(TRENAMEAT).u32(0).str("file").u32(0).str("f2"))
                        .errno());
        assertEquals(EROFS, client.unlinkat(0, "file", 0).errno());
        assertEquals(
                EROFS,
                client.send(message(TXATTRCREATE).u32(1).str("user.x").u64(1).u32(0))
                        .errno());
        assertEquals(EROFS, client.send(message(TREMOVE).u32(1)).errno());
        assertEquals("hello, 9p", Files.readString(share.resolve("file")));
    }

    // ---- Tstatfs / Tfsync / Tlock / Tgetlock ----

    @Test
    void statfsDescribesTheFileSystem() {
        Reply r = client.send(message(TSTATFS).u32(0)).expect(TSTATFS + 1);
        r.body().getInt();
        assertTrue(r.body().getInt() > 0, "block size");
    }

    @Test
    void fsyncNeedsAnOpenFid() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        assertEquals(EBADF, client.send(message(TFSYNC).u32(1).u32(0)).errno());
        client.lopen(1, O_RDWR).expect(TLOPEN + 1);
        client.send(message(TFSYNC).u32(1).u32(0)).expect(TFSYNC + 1);
        client.send(message(TFSYNC).u32(1).u32(1)).expect(TFSYNC + 1);
    }

    @Test
    void lockSucceedsAndGetlockSaysUnlocked() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        Reply r = client.send(
                message(TLOCK).u32(1).u8(1).u32(0).u64(0).u64(10).u32(42).str("guest"));
        assertEquals(LOCK_SUCCESS, r.expect(TLOCK + 1).body().get());
        Reply g = client.send(
                        message(TGETLOCK).u32(1).u8(1).u64(5).u64(10).u32(42).str("guest"))
                .expect(TGETLOCK + 1);
        ByteBuffer b = g.body();
        assertEquals(LOCK_TYPE_UNLCK, b.get());
        assertEquals(5, b.getLong());
        assertEquals(10, b.getLong());
        assertEquals(42, b.getInt());
        assertEquals(5, b.getShort());
        assertEquals(
                EBADF,
                client.send(message(TLOCK)
                                .u32(9)
                                .u8(1)
                                .u32(0)
                                .u64(0)
                                .u64(10)
                                .u32(42)
                                .str("g"))
                        .errno());
    }

    // ---- Txattrwalk / Txattrcreate / Tflush ----

    @Test
    void xattrsAreAnEmptyListAndRefusedOtherwise() {
        Reply r = client.send(message(TXATTRWALK).u32(0).u32(5).str("")).expect(TXATTRWALK + 1);
        assertEquals(0, r.body().getLong());
        assertEquals(0, client.readBytes(5, 0, 100).length);
        client.clunk(5).expect(TCLUNK + 1);
        assertEquals(
                ENODATA,
                client.send(message(TXATTRWALK).u32(0).u32(5).str("security.capability"))
                        .errno());
        assertEquals(
                EOPNOTSUPP,
                client.send(message(TXATTRCREATE).u32(0).str("user.x").u64(1).u32(0))
                        .errno());
    }

    @Test
    void flushIsAnsweredAtOnce() {
        client.send(message(TFLUSH).u16(3)).expect(TFLUSH + 1);
    }

    // ---- framing, unknown messages and bounds ----

    @Test
    void unknownAndLegacyMessagesAreEopnotsupp() {
        assertEquals(EOPNOTSUPP, client.send(message(200)).errno());
        assertEquals(EOPNOTSUPP, client.send(message(TOPEN).u32(0).u8(0)).errno());
        assertEquals(EOPNOTSUPP, client.send(message(TSTAT).u32(0)).errno());
        assertEquals(
                EOPNOTSUPP,
                client.send(message(TAUTH).u32(1).str("u").str("a").u32(0)).errno());
    }

    @Test
    void truncatedAndMisframedMessagesAreEproto() {
        byte[] walk = message(TWALK).u32(0).u32(1).u16(1).str("file").bytes();
        assertEquals(EPROTO, client.send(Arrays.copyOf(walk, walk.length - 2)).errno(), "size field past the data");
        byte[] shortened = walk.clone();
        shortened[0] = (byte) (walk.length - 2);
        assertEquals(EPROTO, client.send(shortened).errno(), "string past the size field");
        byte[] tiny = {7, 0, 0, 0, (byte) TCLUNK, 1, 0};
        assertEquals(EPROTO, client.send(tiny).errno());
        assertNull(client.send(new byte[] {3, 0, 0}), "no tag: no reply");
    }

    @Test
    void aMessageLargerThanTheMsizeIsEmsgsize() {
        client.send(message(TVERSION).u32(4096).str("9P2000.L")).expect(TVERSION + 1);
        client.attach(0).expect(TATTACH + 1);
        client.walk(0, 1, "file").expect(TWALK + 1);
        client.lopen(1, O_RDWR).expect(TLOPEN + 1);
        assertEquals(EMSGSIZE, client.write(1, 0, new byte[5000]).errno());
    }

    @Test
    void fidsAreBounded() throws IOException {
        server.close();
        server = P9Server.open(share, false, 3, 1);
        client = new P9TestClient(server).start();
        client.walk(0, 1, "file").expect(TWALK + 1);
        client.walk(0, 2, "dir").expect(TWALK + 1);
        assertEquals(EMFILE, client.walk(0, 3, "file").errno());
        assertEquals(EMFILE, client.attach(3).errno());
        client.lopen(1, O_RDONLY).expect(TLOPEN + 1);
        assertEquals(ENFILE, client.lopen(2, O_RDONLY).errno());
        client.clunk(1).expect(TCLUNK + 1);
        client.lopen(2, O_RDONLY).expect(TLOPEN + 1);
    }

    @Test
    void deviceNodesAreNotOpened() throws IOException {
        // /dev/null cannot be planted without privileges; a fid on the host's /dev/null is out of reach anyway, so
        // check the refusal through a share rooted at /dev.
        try (P9Server dev = P9Server.open(Path.of("/dev"), true)) {
            P9TestClient c = new P9TestClient(dev).start();
            c.walk(0, 1, "null").expect(TWALK + 1);
            assertEquals(EACCES, c.lopen(1, O_RDONLY).errno());
        }
    }

    @Test
    void aClosedServerRefusesToServe() {
        server.close();
        assertThrows(IllegalStateException.class, () -> client.walk(0, 1, "file"));
    }

    @Test
    void openingSomethingThatIsNotADirectoryFails() {
        IOException e = assertThrows(IOException.class, () -> P9Server.open(share.resolve("file"), false));
        assertTrue(e.getMessage().contains("ENOTDIR"), e.getMessage());
    }

    @Test
    void requestsAreCounted() {
        client.walk(0, 1, "file").expect(TWALK + 1);
        assertEquals(1, server.requestCount(TWALK));
        assertEquals(1, server.requestCount(TATTACH));
        assertEquals(0, server.requestCount(TREAD));
    }

    @Test
    void crossDeviceRenameOutOfTheShareIsImpossible() {
        // the only directories a client can name are fids beneath the share
        client.walk(0, 1, "escape-dir").expect(TWALK + 1);
        assertEquals(
                ENOTDIR,
                client.send(message(TRENAMEAT).u32(0).str("file").u32(1).str("stolen"))
                        .errno());
    }
}
