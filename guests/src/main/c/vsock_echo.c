/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A polling virtio-vsock driver (virtio 1.2, section 5.10) that serves a stream echo on port 1234 and, meanwhile, makes
 * one connection of its own to the host's port 5000. The host test drives it; the guest never stops by itself.
 *
 * Console lines, the first three in this order:
 *   vsock: cid <N>
 *   vsock: connecting to host port 5000
 *   vsock: listening on 1234
 *   vsock: connected to host port 5000, then vsock: closed host port 5000 (or vsock: host port 5000 refused, or
 *     vsock: host port 5000 reset when the host drops it before our shutdown)
 *   vsock: echo connections served <count>, for the first clean close and every tenth
 *   vsock: credit violation on <host port>
 *   warnings, at most MAX_WARNINGS - 1 of them and then "vsock: further warnings suppressed": vsock: bad packet: <why>
 *     on <host port>, vsock: bad used element: <why> id|len <n>, vsock: reset dropped: too many owed, to <host port>
 *   vsock: FAIL <why>, where the device cannot be used; the guest then resets
 *
 * Only VIRTIO_F_VERSION_1 is negotiated: no event index, so every queue is notified plainly (unless the device set
 * VIRTQ_USED_F_NO_NOTIFY), and only stream sockets exist. Every notification is a VM exit costing tens of microseconds,
 * so one round of the loop takes whatever the device returned on all queues, queues every packet that is due, and only
 * then publishes each queue's new buffers with at most one notification.
 *
 * Memory (all static, in .bss):
 *   rx: one device-writable buffer per descriptor, a 44-byte header and up to 64 KiB of payload in one piece;
 *   tx: one buffer per descriptor, header and payload together (payload at most CONN_BUF: the ring is never fuller);
 *   per connection: a CONN_BUF-byte ring of received bytes not yet echoed, which is exactly the buf_alloc it grants.
 * Bytes leave a connection's ring when they are copied into a tx buffer, so the fwd_cnt in that very packet already
 * counts them, and the host learns of the freed room without a separate CREDIT_UPDATE.
 */
#include "virtio_mmio.h"

#define VIRTIO_ID_VSOCK 19
#define RXQ 0
#define TXQ 1
#define EVQ 2
#define QMAX 128  /* entries per queue at most; fewer if the device offers fewer */
#define EVENTS 4  /* event buffers: transport resets are ignored, but the device gets somewhere to put them */
#define EVENT_LEN 8
#define VIRTQ_USED_F_NO_NOTIFY 1
#define VIRTIO_REG_CONFIG_GENERATION 0x0fc

#define HOST_CID 2
#define ECHO_PORT 1234
#define CLIENT_HOST_PORT 5000
#define CLIENT_GUEST_PORT 1024

#define TYPE_STREAM 1
#define OP_REQUEST 1
#define OP_RESPONSE 2
#define OP_RST 3
#define OP_SHUTDOWN 4
#define OP_RW 5
#define OP_CREDIT_UPDATE 6
#define OP_CREDIT_REQUEST 7
#define SHUT_RCV 1  /* the sender will receive no more */
#define SHUT_SEND 2 /* the sender will send no more */
#define SHUT_BOTH 3

#define HDR_LEN 44
#define RX_PAYLOAD 65536
#define RX_BUF (HDR_LEN + RX_PAYLOAD)
/* Each connection's receive ring and buf_alloc: a power of two, so counters index it modulo 2^32 without a seam. */
#define CONN_BUF 32768
#define TX_BUF (HDR_LEN + CONN_BUF)
#define MAX_CONNS 129 /* 128 echo connections and the one to port 5000 */
#define RST_QUEUE 256 /* resets owed to connections we do not (or no longer) have */
#define MAX_WARNINGS 32

/* The packet header (5.10.6), little-endian like the CPU, and unaligned in the buffers: hence packed. */
struct vsock_hdr {
    u64 src_cid;
    u64 dst_cid;
    u32 src_port;
    u32 dst_port;
    u32 len;
    u16 type;
    u16 op;
    u32 flags;
    u32 buf_alloc;
    u32 fwd_cnt;
} __attribute__((packed));
_Static_assert(sizeof(struct vsock_hdr) == HDR_LEN, "the virtio-vsock header is 44 bytes");

/* A split virtqueue of up to QMAX entries (2.7); virtio_mmio.h's struct virtq has room for 8 only. */
struct vq {
    struct virtq_desc desc[QMAX] __attribute__((aligned(16)));
    struct { u16 flags; u16 idx; u16 ring[QMAX]; u16 used_event; } avail __attribute__((aligned(2)));
    struct { u16 flags; u16 idx; struct virtq_used_elem ring[QMAX]; u16 avail_event; } used __attribute__((aligned(4)));
    u16 size;        /* entries in use: a power of two, so u16 indexes wrap cleanly modulo it */
    u16 next_avail;  /* avail entries filled so far; the device sees them once published */
    u16 published;   /* the avail idx last handed to the device */
    u16 last_used;
    u8 out[QMAX];    /* descriptor is with the device: a device returning one twice must not corrupt our books */
};

enum state { FREE, CONNECTING, OPEN };

/*
 * One stream, keyed by (host port, guest port). Counters are the protocol's, modulo 2^32: rx_cnt - fwd_cnt bytes
 * sit in the ring, starting at fwd_cnt % CONN_BUF.
 */
struct conn {
    u8 state;
    u8 client;           /* ours, to port 5000: sends a greeting instead of echoing, and discards what it receives */
    u8 request_owed;     /* client: REQUEST not yet queued */
    u8 response_owed;    /* RESPONSE not yet queued */
    u8 update_owed;      /* the host asked for our credit */
    u8 credit_requested; /* we asked for the host's, and it has not moved since */
    u8 peer_shut;        /* SHUTDOWN flags the host sent, accumulated */
    u8 shut_sent;        /* our SHUTDOWN (both directions) is queued */
    u8 hello_sent;
    u32 host_port, guest_port;
    u32 peer_buf_alloc, peer_fwd_cnt; /* the host's receive buffer, as it last told us */
    u32 tx_cnt;   /* payload bytes we have queued to the host */
    u32 rx_cnt;   /* payload bytes received from the host */
    u32 fwd_cnt;  /* received bytes that have left the ring */
    u32 told_fwd; /* the fwd_cnt in the last packet we queued: what the host may at most believe */
};

static struct virtio_dev devs[8];
static struct virtio_dev *dev;
static struct vq queues[3];
static u64 cid;

static u8 rx_bufs[QMAX][RX_BUF];
static u8 tx_bufs[QMAX][TX_BUF];
static u8 event_bufs[EVENTS][EVENT_LEN];
static u16 tx_free[QMAX]; /* a stack of tx descriptors that are ours */
static u32 tx_free_count;

static struct conn conns[MAX_CONNS];
static u8 rings[MAX_CONNS][CONN_BUF];
static u32 next_conn; /* where the next round starts serving, so a full tx queue does not always starve the same ones */

static struct { u32 host_port, guest_port; } rst_queue[RST_QUEUE];
static u32 rst_head, rst_tail;

static u64 served;
static u32 warnings;
static const char hello_prefix[] = "hello from cid ";
static u8 hello[40];
static u32 hello_len;

/* ---- Small helpers ---- */

/* rep movsq, then rep movsb for the tail: understood by KVM's emulator, and an emulated ring 0 (as on this project's
 * machines) pays per iteration, so eight bytes at a time; gcc must not be left to call a memcpy we lack. */
static void copy(void *to, const void *from, u64 n) {
    u64 words = n / 8, tail = n % 8;
    __asm__ volatile("rep movsq" : "+D"(to), "+S"(from), "+c"(words) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(to), "+S"(from), "+c"(tail) : : "memory");
}

/* A full fence: the avail idx store must be visible before the used flags are read (2.7.10), and x86 may reorder a
 * store with a later load. A locked instruction, not mfence, in case the CPU is emulated. */
static void fence(void) { __asm__ volatile("lock; orq $0, (%%rsp)" : : : "memory", "cc"); }

static u32 min32(u32 a, u32 b) { return a < b ? a : b; }

static void fail(const char *what) {
    puts("vsock: FAIL ");
    puts(what);
    putc('\n');
}

/*
 * "vsock: <what>: <why> <label> <n>": a broken or hostile device must not flood the slow serial line, so a few such
 * warnings, then one line saying the rest are suppressed.
 */
static void warn(const char *what, const char *why, const char *label, u64 n) {
    if (warnings >= MAX_WARNINGS) return;
    if (++warnings == MAX_WARNINGS) { puts("vsock: further warnings suppressed\n"); return; }
    puts("vsock: "); puts(what); puts(": "); puts(why); putc(' '); puts(label); putc(' '); putdec(n); putc('\n');
}

/* A packet we cannot make sense of, on the connection from the host's port. */
static void bad_packet(const char *why, u32 host_port) { warn("bad packet", why, "on", host_port); }

/* ---- Queues ---- */

static u16 used_idx(struct vq *q) { return *(volatile u16 *) &q->used.idx; }

/* Puts descriptor id in the next avail slot; the device sees it at publish. */
static void make_available(struct vq *q, u16 id) {
    q->out[id] = 1;
    q->avail.ring[q->next_avail % q->size] = id;
    q->next_avail++;
}

/* Hands the new avail entries to the device, with one notification unless the device said it needs none. */
static void publish(int queue) {
    struct vq *q = &queues[queue];
    if (q->next_avail == q->published) return;
    barrier(); /* descriptors and ring entries before idx: x86 keeps stores in order, the compiler must too */
    *(volatile u16 *) &q->avail.idx = q->next_avail;
    q->published = q->next_avail;
    fence();
    if (!(*(volatile u16 *) &q->used.flags & VIRTQ_USED_F_NO_NOTIFY)) vset(dev, VIRTIO_REG_QUEUE_NOTIFY, (u32) queue);
}

/*
 * Takes the next used element of q: returns its descriptor id, or -1 when there is none. An id out of range or not
 * out with the device is skipped with a warning.
 */
static int next_used(struct vq *q, u32 *len) {
    while (used_idx(q) != q->last_used) {
        barrier(); /* idx before the element and the buffer it names: x86 keeps loads in order, the compiler must too */
        struct virtq_used_elem e = q->used.ring[q->last_used % q->size];
        q->last_used++;
        if (e.id >= q->size || !q->out[e.id]) {
            warn("bad used element", "descriptor not with the device:", "id", e.id);
            continue;
        }
        q->out[e.id] = 0;
        *len = e.len;
        return (int) e.id;
    }
    return -1;
}

/* The largest power of two at most limit and the device's maximum; 0 if the queue does not exist. */
static u16 queue_size(u32 max, u32 limit) {
    u32 size = 1;
    while (size * 2 <= max && size * 2 <= limit) size *= 2;
    return max ? (u16) size : 0;
}

/* ---- Device set-up (3.1.1) ---- */

static int find_vsock(u64 bp) {
    int n = virtio_discover(bp, devs, 8);
    for (int i = 0; i < n; i++) {
        struct virtio_dev *d = &devs[i];
        if (vreg(d, VIRTIO_REG_MAGIC) == VIRTIO_MAGIC && vreg(d, VIRTIO_REG_VERSION) == 2
                && vreg(d, VIRTIO_REG_DEVICE_ID) == VIRTIO_ID_VSOCK) {
            dev = d;
            return 1;
        }
    }
    fail("no virtio-vsock device");
    return 0;
}

static int setup_queue(int i, u32 limit) {
    struct vq *q = &queues[i];
    vset(dev, VIRTIO_REG_QUEUE_SEL, (u32) i);
    q->size = queue_size(vreg(dev, VIRTIO_REG_QUEUE_NUM_MAX), limit);
    if (q->size == 0) return 0;
    vset(dev, VIRTIO_REG_QUEUE_NUM, q->size);
    vset(dev, VIRTIO_REG_QUEUE_DESC, (u32) (u64) q->desc);
    vset(dev, VIRTIO_REG_QUEUE_DESC + 4, (u32) ((u64) q->desc >> 32));
    vset(dev, VIRTIO_REG_QUEUE_DRIVER, (u32) (u64) &q->avail);
    vset(dev, VIRTIO_REG_QUEUE_DRIVER + 4, (u32) ((u64) &q->avail >> 32));
    vset(dev, VIRTIO_REG_QUEUE_DEVICE, (u32) (u64) &q->used);
    vset(dev, VIRTIO_REG_QUEUE_DEVICE + 4, (u32) ((u64) &q->used >> 32));
    vset(dev, VIRTIO_REG_QUEUE_READY, 1);
    return 1;
}

/*
 * Negotiates VERSION_1 alone, sets up the three queues, fills rx and the event queue (allowed before DRIVER_OK; only
 * notifications are not) and sets DRIVER_OK.
 */
static int start_vsock(void) {
    vset(dev, VIRTIO_REG_STATUS, 0);
    vset(dev, VIRTIO_REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    vset(dev, VIRTIO_REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vset(dev, VIRTIO_REG_DEVICE_FEATURES_SEL, 1);
    if (!(vreg(dev, VIRTIO_REG_DEVICE_FEATURES) & 1)) {
        fail("the device does not offer VIRTIO_F_VERSION_1");
        return 0;
    }
    vset(dev, VIRTIO_REG_DRIVER_FEATURES_SEL, 0);
    vset(dev, VIRTIO_REG_DRIVER_FEATURES, 0);
    vset(dev, VIRTIO_REG_DRIVER_FEATURES_SEL, 1);
    vset(dev, VIRTIO_REG_DRIVER_FEATURES, 1);
    u32 status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    vset(dev, VIRTIO_REG_STATUS, status);
    if (!(vreg(dev, VIRTIO_REG_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
        fail("the device refused FEATURES_OK");
        return 0;
    }
    if (!setup_queue(RXQ, QMAX) || !setup_queue(TXQ, QMAX) || !setup_queue(EVQ, EVENTS)) {
        fail("the device has fewer than three queues");
        return 0;
    }
    struct vq *rx = &queues[RXQ], *tx = &queues[TXQ], *ev = &queues[EVQ];
    for (u16 i = 0; i < rx->size; i++) {
        rx->desc[i] = (struct virtq_desc) {(u64) rx_bufs[i], RX_BUF, VIRTQ_DESC_F_WRITE, 0};
        make_available(rx, i);
    }
    for (u16 i = 0; i < tx->size; i++) {
        tx->desc[i] = (struct virtq_desc) {(u64) tx_bufs[i], 0, 0, 0};
        tx_free[tx_free_count++] = i;
    }
    for (u16 i = 0; i < ev->size; i++) {
        ev->desc[i] = (struct virtq_desc) {(u64) event_bufs[i], EVENT_LEN, VIRTQ_DESC_F_WRITE, 0};
        make_available(ev, i);
    }
    barrier();
    *(volatile u16 *) &rx->avail.idx = rx->published = rx->next_avail;
    *(volatile u16 *) &ev->avail.idx = ev->published = ev->next_avail;
    vset(dev, VIRTIO_REG_STATUS, status | VIRTIO_STATUS_DRIVER_OK);
    if (vreg(dev, VIRTIO_REG_STATUS) != (status | VIRTIO_STATUS_DRIVER_OK)) {
        fail("the device refused DRIVER_OK");
        return 0;
    }
    vset(dev, VIRTIO_REG_QUEUE_NOTIFY, RXQ);
    vset(dev, VIRTIO_REG_QUEUE_NOTIFY, EVQ);
    return 1;
}

/* guest_cid, a 64-bit field read as two 32-bit halves (4.2.2.2), retried until the configuration generation holds. */
static u64 read_cid(void) {
    u32 generation, low, high;
    do {
        generation = vreg(dev, VIRTIO_REG_CONFIG_GENERATION);
        low = vreg(dev, VIRTIO_REG_CONFIG);
        high = vreg(dev, VIRTIO_REG_CONFIG + 4);
    } while (generation != vreg(dev, VIRTIO_REG_CONFIG_GENERATION));
    return (u64) high << 32 | low;
}

/* ---- Sending ---- */

/*
 * Takes a free tx descriptor and writes a header from (our cid, guest_port) to (host, host_port) into its buffer;
 * returns the header, or 0 when all tx descriptors are with the device (the caller tries again next round).
 */
static struct vsock_hdr *tx_packet(u32 host_port, u32 guest_port, u16 op, u32 flags) {
    if (tx_free_count == 0) return 0;
    struct vsock_hdr *h = (struct vsock_hdr *) tx_bufs[tx_free[tx_free_count - 1]];
    h->src_cid = cid;
    h->dst_cid = HOST_CID;
    h->src_port = guest_port;
    h->dst_port = host_port;
    h->len = 0;
    h->type = TYPE_STREAM;
    h->op = op;
    h->flags = flags;
    h->buf_alloc = 0;
    h->fwd_cnt = 0;
    return h;
}

/* Queues the packet tx_packet just wrote, with its payload's length set. */
static void tx_queue(struct vsock_hdr *h) {
    struct vq *q = &queues[TXQ];
    u16 id = tx_free[--tx_free_count];
    q->desc[id].len = HDR_LEN + h->len;
    make_available(q, id);
}

/* A packet on connection c: its header also carries our credit, which the host now knows. */
static struct vsock_hdr *conn_packet(struct conn *c, u16 op, u32 flags) {
    struct vsock_hdr *h = tx_packet(c->host_port, c->guest_port, op, flags);
    if (!h) return 0;
    h->buf_alloc = CONN_BUF;
    h->fwd_cnt = c->fwd_cnt;
    c->told_fwd = c->fwd_cnt;
    return h;
}

static int send_control(struct conn *c, u16 op, u32 flags) {
    struct vsock_hdr *h = conn_packet(c, op, flags);
    if (!h) return 0;
    tx_queue(h);
    return 1;
}

/* Resets (host_port, guest_port) later: the connection, if there was one, is already forgotten. */
static void owe_rst(u32 host_port, u32 guest_port) {
    if (rst_tail - rst_head == RST_QUEUE) {
        warn("reset dropped", "too many owed,", "to", host_port);
        return;
    }
    rst_queue[rst_tail % RST_QUEUE].host_port = host_port;
    rst_queue[rst_tail % RST_QUEUE].guest_port = guest_port;
    rst_tail++;
}

static void send_owed_rsts(void) {
    while (rst_head != rst_tail) {
        struct vsock_hdr *h = tx_packet(rst_queue[rst_head % RST_QUEUE].host_port,
                rst_queue[rst_head % RST_QUEUE].guest_port, OP_RST, 0);
        if (!h) return;
        tx_queue(h);
        rst_head++;
    }
}

/* How many payload bytes the host can take now: u32 arithmetic, and never more than it granted, even if it shrank. */
static u32 peer_credit(struct conn *c) {
    u32 in_flight = c->tx_cnt - c->peer_fwd_cnt;
    return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* ---- Connections ---- */

static struct conn *find_conn(u32 host_port, u32 guest_port) {
    for (u32 i = 0; i < MAX_CONNS; i++) {
        struct conn *c = &conns[i];
        if (c->state != FREE && c->host_port == host_port && c->guest_port == guest_port) return c;
    }
    return 0;
}

static struct conn *new_conn(u32 host_port, u32 guest_port) {
    for (u32 i = 0; i < MAX_CONNS; i++) {
        struct conn *c = &conns[i];
        if (c->state == FREE) {
            *c = (struct conn) {0};
            c->host_port = host_port;
            c->guest_port = guest_port;
            return c;
        }
    }
    return 0;
}

static u8 *ring_of(struct conn *c) { return rings[c - conns]; }

static u32 ring_bytes(struct conn *c) { return c->rx_cnt - c->fwd_cnt; }

/* Copies n bytes from the ring (oldest first) to `to`, and frees them. */
static void ring_take(struct conn *c, u8 *to, u32 n) {
    u32 at = c->fwd_cnt % CONN_BUF, first = min32(n, CONN_BUF - at);
    copy(to, ring_of(c) + at, first);
    copy(to + first, ring_of(c), n - first);
    c->fwd_cnt += n;
}

static void ring_put(struct conn *c, const u8 *from, u32 n) {
    u32 at = c->rx_cnt % CONN_BUF, first = min32(n, CONN_BUF - at);
    copy(ring_of(c) + at, from, first);
    copy(ring_of(c), from + first, n - first);
    c->rx_cnt += n;
}

/* Forgets c. clean: it closed in order, every byte received having been echoed (or, for ours, the greeting sent). */
static void finish(struct conn *c, int clean) {
    if (c->client) {
        if (c->state == CONNECTING) puts("vsock: host port 5000 refused\n");
        else if (clean) puts("vsock: closed host port 5000\n");
        else puts("vsock: host port 5000 reset\n");
    } else if (clean) {
        served++;
        if (served == 1 || served % 10 == 0) { puts("vsock: echo connections served "); putdec(served); putc('\n'); }
    }
    c->state = FREE;
}

static void reset_conn(struct conn *c) {
    owe_rst(c->host_port, c->guest_port);
    c->state = FREE;
}

/* ---- Receiving ---- */

/* The payload of an RW on c: into the ring (echo) or discarded (ours, or after a shutdown), within our credit. */
static void receive_data(struct conn *c, const u8 *payload, u32 len) {
    if ((u64) (c->rx_cnt - c->told_fwd) + len > CONN_BUF) {
        puts("vsock: credit violation on "); putdec(c->host_port); putc('\n');
        reset_conn(c);
        return;
    }
    if (c->client || c->shut_sent || (c->peer_shut & SHUT_RCV)) {
        c->rx_cnt += len; /* nobody will read it: it is taken out at once, and the room is ours to grant again */
        c->fwd_cnt += len;
    } else {
        ring_put(c, payload, len);
    }
}

static void handle_packet(const struct vsock_hdr *h, const u8 *payload, u32 payload_room) {
    u32 host_port = h->src_port, guest_port = h->dst_port;
    if (h->src_cid != HOST_CID || h->dst_cid != cid) { bad_packet("not from the host to us", host_port); return; }
    struct conn *c = find_conn(host_port, guest_port);
    if (h->op == OP_RST) { /* never answered, lest two sides reset each other forever */
        if (c) finish(c, c->shut_sent || ((c->peer_shut & SHUT_SEND) && ring_bytes(c) == 0));
        return;
    }
    const char *bad = 0;
    if (h->len > payload_room) bad = "len beyond the buffer";
    else if (h->type != TYPE_STREAM) bad = "not a stream";
    else if (h->op < OP_REQUEST || h->op > OP_CREDIT_REQUEST) bad = "unknown op";
    else if (h->op == OP_REQUEST && c) bad = "request on an open connection";
    else if (h->op == OP_RESPONSE && c && c->state != CONNECTING) bad = "response on an open connection";
    else if (h->op != OP_RESPONSE && c && c->state == CONNECTING) bad = "packet before the response";
    if (bad) {
        bad_packet(bad, host_port);
        if (c) reset_conn(c);
        else owe_rst(host_port, guest_port);
        return;
    }
    if (h->op == OP_REQUEST) {
        if (guest_port != ECHO_PORT || !(c = new_conn(host_port, guest_port))) { owe_rst(host_port, guest_port); return; }
        c->state = OPEN;
        c->response_owed = 1;
    } else if (!c) {
        owe_rst(host_port, guest_port);
        return;
    }
    if (h->fwd_cnt != c->peer_fwd_cnt) c->credit_requested = 0; /* the host moved: ask again if it stalls again */
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    switch (h->op) {
    case OP_RESPONSE:
        c->state = OPEN;
        puts("vsock: connected to host port 5000\n");
        break;
    case OP_RW:
        receive_data(c, payload, h->len);
        break;
    case OP_CREDIT_REQUEST:
        c->update_owed = 1;
        break;
    case OP_SHUTDOWN:
        c->peer_shut |= h->flags & SHUT_BOTH;
        if (c->peer_shut & SHUT_RCV) c->fwd_cnt = c->rx_cnt; /* it reads no more: nothing left to echo */
        break;
    default: /* REQUEST, done above; CREDIT_UPDATE, whose news every header carries */
        break;
    }
}

/* Everything the device has written to rx: handled, and the buffers made available again. */
static int drain_rx(void) {
    struct vq *q = &queues[RXQ];
    int work = 0;
    u32 len;
    for (int id; (id = next_used(q, &len)) >= 0; work++) {
        if (len < HDR_LEN || len > RX_BUF) warn("bad used element", "length out of range:", "len", len);
        else handle_packet((const struct vsock_hdr *) rx_bufs[id], rx_bufs[id] + HDR_LEN, len - HDR_LEN);
        make_available(q, (u16) id);
    }
    return work;
}

static int drain_tx(void) {
    int work = 0;
    u32 len;
    for (int id; (id = next_used(&queues[TXQ], &len)) >= 0; work++) tx_free[tx_free_count++] = (u16) id;
    return work;
}

/* Transport resets are not acted on (the host test never migrates us): the buffers just go back. */
static void drain_events(void) {
    u32 len;
    for (int id; (id = next_used(&queues[EVQ], &len)) >= 0;) make_available(&queues[EVQ], (u16) id);
}

/* ---- Serving ---- */

/* RW packets from c's ring while the host has credit and we have tx buffers; a CREDIT_REQUEST once if it stalls. */
static int echo(struct conn *c) {
    u32 n;
    while ((n = min32(min32(ring_bytes(c), peer_credit(c)), CONN_BUF)) > 0) {
        struct vsock_hdr *h = conn_packet(c, OP_RW, 0);
        if (!h) return 0;
        ring_take(c, (u8 *) (h + 1), n);
        h->fwd_cnt = c->told_fwd = c->fwd_cnt; /* the bytes just taken count: the host hears of their room at once */
        h->len = n;
        c->tx_cnt += n;
        tx_queue(h);
    }
    if (ring_bytes(c) > 0 && !c->credit_requested) {
        if (!send_control(c, OP_CREDIT_REQUEST, 0)) return 0;
        c->credit_requested = 1;
    }
    return 1;
}

/* The greeting on our connection, when the host has room for all of it. */
static int greet(struct conn *c) {
    if (c->hello_sent || (c->peer_shut & SHUT_RCV)) { c->hello_sent = 1; return 1; }
    if (peer_credit(c) < hello_len) return 1;
    struct vsock_hdr *h = conn_packet(c, OP_RW, 0);
    if (!h) return 0;
    copy(h + 1, hello, hello_len);
    h->len = hello_len;
    c->tx_cnt += hello_len;
    tx_queue(h);
    c->hello_sent = 1;
    return 1;
}

/*
 * Queues what c owes, in the order the host must see it: REQUEST or RESPONSE, data, credit, shutdown, reset. Stops
 * where the tx buffers run out; the next round carries on from there.
 */
static void serve(struct conn *c) {
    if (c->request_owed) {
        if (!send_control(c, OP_REQUEST, 0)) return;
        c->request_owed = 0;
    }
    if (c->state != OPEN) return;
    if (c->response_owed) {
        if (!send_control(c, OP_RESPONSE, 0)) return;
        c->response_owed = 0;
    }
    if (!c->shut_sent && !(c->client ? greet(c) : echo(c))) return;
    /* The host may be starved: it believes in less than half our buffer, and we have freed room it has not heard of. */
    u32 granted = CONN_BUF - (c->rx_cnt - c->told_fwd);
    if (c->update_owed || (granted < CONN_BUF / 2 && c->fwd_cnt != c->told_fwd)) {
        if (!send_control(c, OP_CREDIT_UPDATE, 0)) return;
        c->update_owed = 0;
    }
    int done = c->client ? c->hello_sent : ring_bytes(c) == 0;
    if (!done) return;
    if (c->peer_shut == SHUT_BOTH) {
        /* Both sides are through: a reset ends it here, as Linux does, with no further answer awaited. */
        if (!send_control(c, OP_RST, 0)) return;
        finish(c, 1);
    } else if (!c->shut_sent && (c->client || (c->peer_shut & SHUT_SEND))) {
        if (!send_control(c, OP_SHUTDOWN, SHUT_BOTH)) return;
        c->shut_sent = 1; /* the host answers with RST (or its own SHUTDOWN, handled above) */
    }
}

static void serve_all(void) {
    send_owed_rsts();
    for (u32 k = 0; k < MAX_CONNS && tx_free_count > 0; k++) {
        struct conn *c = &conns[(next_conn + k) % MAX_CONNS];
        if (c->state != FREE) serve(c);
    }
    next_conn = (next_conn + 1) % MAX_CONNS;
}

static void build_hello(void) {
    copy(hello, hello_prefix, sizeof hello_prefix - 1);
    hello_len = sizeof hello_prefix - 1;
    char digits[21];
    int n = 0;
    u64 v = cid;
    do { digits[n++] = (char) ('0' + v % 10); v /= 10; } while (v);
    while (n) hello[hello_len++] = (u8) digits[--n];
    hello[hello_len++] = '\n';
}

int main(u64 bp) {
    map_mmio_hole();
    if (!find_vsock(bp) || !start_vsock()) return 1;
    cid = read_cid();
    puts("vsock: cid "); putdec(cid); putc('\n');
    build_hello();

    puts("vsock: connecting to host port 5000\n");
    struct conn *c = new_conn(CLIENT_HOST_PORT, CLIENT_GUEST_PORT);
    c->state = CONNECTING;
    c->client = 1;
    c->request_owed = 1;
    puts("vsock: listening on 1234\n");

    for (;;) {
        int work = drain_tx();
        work += drain_rx();
        drain_events();
        serve_all();
        publish(TXQ);
        publish(RXQ);
        publish(EVQ);
        if (!work) __asm__ volatile("pause");
    }
}
