// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.p9;

import static dev.vmm4j.virtio.p9.P9Messages.*;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Encodes T-messages and decodes R-messages for tests: a 9P client without a transport. */
final class P9TestClient {
    /** A decoded reply: its type, tag and body (positioned after the header). */
    record Reply(int type, int tag, ByteBuffer body) {
        int errno() {
            if (type != RLERROR) {
                throw new AssertionError("expected Rlerror, got type " + type);
            }
            return body.getInt(7);
        }

        boolean isError() {
            return type == RLERROR;
        }

        Reply expect(int rtype) {
            if (type != rtype) {
                throw new AssertionError("expected type " + rtype + ", got " + type
                        + (type == RLERROR ? " (errno " + body.getInt(7) + ")" : ""));
            }
            return this;
        }

        Qid qid() {
            return Qid.read(body);
        }
    }

    record Qid(int type, int version, long path) {
        static Qid read(ByteBuffer b) {
            return new Qid(b.get() & 0xff, b.getInt(), b.getLong());
        }
    }

    /** A message being built: append fields, then {@link #bytes()}. */
    static final class Message {
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private final int type;
        private final int tag;

        Message(int type, int tag) {
            this.type = type;
            this.tag = tag;
        }

        Message u8(int v) {
            body.write(v);
            return this;
        }

        Message u16(int v) {
            body.write(v);
            body.write(v >>> 8);
            return this;
        }

        Message u32(long v) {
            for (int i = 0; i < 4; i++) {
                body.write((int) (v >>> (8 * i)));
            }
            return this;
        }

        Message u64(long v) {
            for (int i = 0; i < 8; i++) {
                body.write((int) (v >>> (8 * i)));
            }
            return this;
        }

        Message str(String s) {
            return raw(s.getBytes(StandardCharsets.UTF_8));
        }

        Message raw(byte[] s) {
            u16(s.length);
            body.writeBytes(s);
            return this;
        }

        Message data(byte[] d) {
            body.writeBytes(d);
            return this;
        }

        byte[] bytes() {
            byte[] b = body.toByteArray();
            ByteBuffer m = ByteBuffer.allocate(7 + b.length).order(ByteOrder.LITTLE_ENDIAN);
            m.putInt(7 + b.length).put((byte) type).putShort((short) tag).put(b);
            return m.array();
        }
    }

    private final P9Server server;
    private final byte[] reply = new byte[P9Server.MAX_MSIZE];
    private int nextTag = 1;
    int replyCapacity = P9Server.MAX_MSIZE;

    P9TestClient(P9Server server) {
        this.server = server;
    }

    static Message message(int type) {
        return new Message(type, 1);
    }

    Reply send(Message m) {
        return send(m.bytes());
    }

    Reply send(byte[] request) {
        int n = server.handle(
                MemorySegment.ofArray(request), MemorySegment.ofArray(reply).asSlice(0, replyCapacity));
        if (n == 0) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(reply, 0, n).slice().order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(0) != n) {
            throw new AssertionError("reply size field " + b.getInt(0) + " != " + n);
        }
        int type = b.get(4) & 0xff;
        int tag = b.getShort(5) & 0xffff;
        b.position(7);
        return new Reply(type, tag, b);
    }

    /** Tversion 9P2000.L + Tattach of fid 0: the usual start. */
    P9TestClient start() {
        send(message(TVERSION).u32(P9Server.MAX_MSIZE).str("9P2000.L")).expect(TVERSION + 1);
        attach(0).expect(TATTACH + 1);
        return this;
    }

    Reply attach(int fid) {
        return send(message(TATTACH).u32(fid).u32(NOFID).str("root").str("").u32(0));
    }

    Reply walk(int fid, int newFid, String... names) {
        Message m = message(TWALK).u32(fid).u32(newFid).u16(names.length);
        for (String n : names) {
            m.str(n);
        }
        return send(m);
    }

    List<Qid> walkQids(Reply r) {
        r.expect(TWALK + 1);
        int n = r.body().getShort() & 0xffff;
        List<Qid> qids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            qids.add(r.qid());
        }
        return qids;
    }

    Reply lopen(int fid, int flags) {
        return send(message(TLOPEN).u32(fid).u32(flags));
    }

    Reply lcreate(int fid, String name, int flags, int mode) {
        return send(message(TLCREATE).u32(fid).str(name).u32(flags).u32(mode).u32(0));
    }

    Reply read(int fid, long offset, int count) {
        return send(message(TREAD).u32(fid).u64(offset).u32(count));
    }

    byte[] readBytes(int fid, long offset, int count) {
        Reply r = read(fid, offset, count).expect(TREAD + 1);
        byte[] d = new byte[r.body().getInt()];
        r.body().get(d);
        return d;
    }

    Reply write(int fid, long offset, byte[] data) {
        return send(message(TWRITE).u32(fid).u64(offset).u32(data.length).data(data));
    }

    Reply clunk(int fid) {
        return send(message(TCLUNK).u32(fid));
    }

    Reply getattr(int fid) {
        return send(message(TGETATTR).u32(fid).u64(GETATTR_BASIC));
    }

    Reply mkdir(int fid, String name, int mode) {
        return send(message(TMKDIR).u32(fid).str(name).u32(mode).u32(0));
    }

    Reply unlinkat(int fid, String name, int flags) {
        return send(message(TUNLINKAT).u32(fid).str(name).u32(flags));
    }

    /** Names in a directory, read with Treaddir from the opened {@code fid} until the end. */
    List<String> readdir(int fid) {
        List<String> names = new ArrayList<>();
        long offset = 0;
        while (true) {
            Reply r = send(message(TREADDIR).u32(fid).u64(offset).u32(8192)).expect(TREADDIR + 1);
            int count = r.body().getInt();
            if (count == 0) {
                return names;
            }
            ByteBuffer b = r.body();
            int end = b.position() + count;
            while (b.position() < end) {
                Qid.read(b);
                offset = b.getLong();
                b.get();
                byte[] name = new byte[b.getShort() & 0xffff];
                b.get(name);
                names.add(new String(name, StandardCharsets.UTF_8));
            }
        }
    }

    int tag() {
        return nextTag++;
    }
}
