/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A polling virtio-net driver (virtio 1.2, section 5.1) that shows frames flow both ways: it asks the host for its MAC
 * address with ARP, then pings it three times. The device's other end is a tap interface whose kernel has an IPv4
 * address and answers ARP and ICMP echo by itself.
 *
 * Command line: virtio_mmio.device=... (the VMM's), net.ip=A.B.C.D (this guest's address) and net.host=A.B.C.D (the
 * host's address on the tap). Prints "net: ..." lines for the host test, then "net: done" or one "net: FAIL ..." line
 * per failure, and ends the VM.
 *
 * Only VIRTIO_F_VERSION_1 is negotiated, so every frame in either direction follows a 12-byte struct virtio_net_hdr,
 * and no checksum or segmentation offload is in play: both sides send complete checksums and frames of at most 1514
 * bytes. Each queue carries one chain at a time: a single receive buffer, posted again after every frame, and a
 * transmit chain (header + frame) that is waited for before the next one.
 */
#include "virtio_mmio.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_F_MAC 5 /* feature bit: the device's MAC is in the configuration space at offset 0 */
#define RXQ 0
#define TXQ 1

#define NET_HDR_LEN 12 /* struct virtio_net_hdr, num_buffers included as VERSION_1 has it */
#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_FRAME_MIN 60 /* without the FCS */
#define ETH_FRAME_MAX 1514
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806

#define ARP_LEN 28 /* IPv4 over Ethernet */
#define ARP_HRD_ETHER 1
#define ARP_REQUEST 1
#define ARP_REPLY 2

#define IP_HLEN 20
#define IP_TTL 64
#define IP_PROTO_ICMP 1
#define IP_MF_AND_OFFSET 0x3fff
#define ICMP_HLEN 8
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8

#define PING_ID 0x1234
#define PING_COUNT 3
#define PING_PAYLOAD 56

/*
 * What one wait for a frame may take: polls of the used ring (about ten seconds of emulated time, as virtio_wait_on)
 * and frames (a chatty or broken device must not keep the guest forever).
 */
#define WAIT_SPINS 3000000UL
#define WAIT_FRAMES 64
/*
 * ARP is asked up to three times, as Linux does: a tap whose carrier has just come up drops what it is handed until
 * its queue is activated (up to a second later), and the first request can be lost that way.
 */
#define ARP_TRIES 3

static struct virtio_dev devs[8];
static struct virtio_dev *net;
static const u8 default_mac[ETH_ALEN] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const u8 broadcast_mac[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const u8 unknown_mac[ETH_ALEN];
static u8 my_mac[ETH_ALEN];
static u8 host_mac[ETH_ALEN];
static u32 my_ip, host_ip;

static u8 tx_hdr[NET_HDR_LEN]; /* stays all zeros: no offload is asked for */
static u8 tx_frame[ETH_FRAME_MAX];
static u8 rx_buf[NET_HDR_LEN + ETH_FRAME_MAX];
static int tx_stuck; /* the device never took a chain: its descriptors must not be rewritten */

static int failures;
static u64 skipped; /* frames for someone else, or of no interest: IPv6, other ARP, other ICMP */

/* Network byte order, byte by byte: no alignment needed and no dependence on the CPU's order. */
static u16 get16(const u8 *p) { return (u16) (p[0] << 8 | p[1]); }
static u32 get32(const u8 *p) { return (u32) p[0] << 24 | (u32) p[1] << 16 | (u32) p[2] << 8 | p[3]; }
static void put16(u8 *p, u16 v) { p[0] = (u8) (v >> 8); p[1] = (u8) v; }
static void put32(u8 *p, u32 v) { put16(p, (u16) (v >> 16)); put16(p + 2, (u16) v); }

static void copy(u8 *to, const u8 *from, u32 n) { while (n--) *to++ = *from++; }

static int same(const u8 *a, const u8 *b, u32 n) {
    while (n--) {
        if (*a++ != *b++) return 0;
    }
    return 1;
}

/*
 * The Internet checksum (RFC 1071): the one's complement of the one's complement sum of the big-endian 16-bit words,
 * an odd last byte padded with a zero. Over data that holds a correct checksum it gives 0.
 */
static u16 checksum(const u8 *p, u32 len) {
    u32 sum = 0; /* 757 words of at most 0xffff: no overflow */
    for (; len > 1; p += 2, len -= 2) sum += get16(p);
    if (len) sum += (u32) p[0] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (u16) ~sum;
}

static void put_ip(u32 ip) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        putdec((ip >> shift) & 0xff);
        if (shift) putc('.');
    }
}

static void put_mac(const u8 *mac) {
    for (int i = 0; i < ETH_ALEN; i++) {
        if (i) putc(':');
        puthex(mac[i], 2);
    }
}

static void fail(const char *what) {
    puts("net: FAIL ");
    puts(what);
    putc('\n');
    failures++;
}

static void fail_n(const char *what, u64 n) {
    puts("net: FAIL ");
    puts(what);
    putc(' ');
    putdec(n);
    putc('\n');
    failures++;
}

/* A malformed frame is worth a line: a device bug would otherwise show only as a missing reply. */
static void dropped(const char *why) {
    puts("net: dropped a frame: ");
    puts(why);
    putc('\n');
}

/* ---- Command line ---- */

static int ends_argument(char c) { return c == 0 || c == ' ' || c == '\t' || c == '\n'; }

/* The value of the argument that starts with `key` (such as "net.ip="), or 0 where there is none. */
static const char *argument(const char *cmdline, const char *key) {
    for (const char *p = cmdline; *p; p++) {
        if (p != cmdline && !ends_argument(p[-1])) continue;
        const char *k = key, *q = p;
        while (*k && *q == *k) { k++; q++; }
        if (!*k) return q;
    }
    return 0;
}

/* Parses the A.B.C.D that makes up the rest of an argument; returns 0 where it is anything else. */
static int parse_ip(const char *p, u32 *ip) {
    u32 value = 0;
    for (int part = 0; part < 4; part++) {
        if (part && *p++ != '.') return 0;
        u32 octet = 0;
        int digits = 0;
        for (; *p >= '0' && *p <= '9' && digits < 4; p++, digits++) octet = octet * 10 + (u32) (*p - '0');
        if (digits == 0 || digits > 3 || octet > 255) return 0;
        value = value << 8 | octet;
    }
    if (!ends_argument(*p)) return 0;
    *ip = value;
    return 1;
}

static int read_address(const char *cmdline, const char *key, u32 *ip) {
    const char *value = argument(cmdline, key);
    if (value && parse_ip(value, ip)) return 1;
    puts("net: FAIL no valid ");
    puts(key);
    puts("A.B.C.D on the command line\n");
    failures++;
    return 0;
}

/* ---- Step 1: the device ---- */

/* Picks the first announced device that is a virtio-net one; the others are left alone (not even reset). */
static int find_net(u64 bp) {
    int n = virtio_discover(bp, devs, 8);
    for (int i = 0; i < n; i++) {
        struct virtio_dev *d = &devs[i];
        if (vreg(d, VIRTIO_REG_MAGIC) == VIRTIO_MAGIC && vreg(d, VIRTIO_REG_VERSION) == 2
                && vreg(d, VIRTIO_REG_DEVICE_ID) == VIRTIO_ID_NET) {
            net = d;
            return 1;
        }
    }
    fail("no virtio-net device");
    return 0;
}

static int start_net(void) {
    puts("net: virtio-net at 0x"); puthex(net->base, 8); puts(" irq "); putdec(net->irq); putc('\n');
    int err = virtio_init(net, 2);
    if (err) {
        fail_n("virtio-net init failed at step", (u64) -err);
        return 0;
    }
    /* virtio_init stops quietly where a queue is missing; a net device without its transmitq is of no use here */
    vset(net, VIRTIO_REG_QUEUE_SEL, TXQ);
    if (vreg(net, VIRTIO_REG_QUEUE_READY) != 1) {
        fail("virtio-net has no transmitq");
        return 0;
    }
    return 1;
}

/*
 * The device's MAC where it offers VIRTIO_NET_F_MAC, else a fixed locally administered one. The device features are
 * readable whatever the driver accepted, and the configuration space shows the MAC either way. It is read a byte at a
 * time: the field is 6 bytes long and the device decides what wider accesses do.
 */
static void read_mac(void) {
    vset(net, VIRTIO_REG_DEVICE_FEATURES_SEL, 0);
    int offered = (vreg(net, VIRTIO_REG_DEVICE_FEATURES) >> VIRTIO_NET_F_MAC) & 1;
    for (int i = 0; i < ETH_ALEN; i++) {
        my_mac[i] = offered ? read8(net->base + VIRTIO_REG_CONFIG + (u64) i) : default_mac[i];
    }
    puts("net: mac "); put_mac(my_mac); puts(offered ? " (from the device)\n" : " (default)\n");
}

/* ---- Queues ---- */

/* Step 2: (re)posts the one receive buffer, device-writable, large enough for the header and a full frame. */
static void post_rx(void) {
    struct virtio_buf buf = {rx_buf, sizeof rx_buf, 1};
    virtio_post_on(net, RXQ, &buf, 1);
}

/*
 * Polls the receiveq's used ring as virtio_wait_on does, but against a budget that all frames of one wait share.
 * Returns the length the device reported (the header included), or -1 when the budget is spent.
 */
static long next_rx(u64 *spins) {
    struct virtq *q = &net->q[RXQ];
    volatile struct virtq_used *used = &q->used;
    for (; *spins; (*spins)--) {
        if (used->idx != q->last_used) {
            barrier();
            u32 len = used->ring[q->last_used % QUEUE_SIZE].len;
            q->last_used++;
            return len;
        }
    }
    return -1;
}

/* Sends tx_frame's first len bytes (padded to the Ethernet minimum) after a zero header; waits for the device. */
static int send_frame(u32 len) {
    if (tx_stuck) return 0;
    while (len < ETH_FRAME_MIN) tx_frame[len++] = 0;
    struct virtio_buf bufs[2] = {{tx_hdr, NET_HDR_LEN, 0}, {tx_frame, len, 0}};
    if (virtio_submit_on(net, TXQ, bufs, 2) < 0) {
        tx_stuck = 1;
        fail("transmit timed out");
        return 0;
    }
    return 1;
}

/* ---- Frames out ---- */

/* Writes an Ethernet header from us to dst at f; returns where the payload goes. */
static u8 *eth_header(u8 *f, const u8 *dst, u16 type) {
    copy(f, dst, ETH_ALEN);
    copy(f + ETH_ALEN, my_mac, ETH_ALEN);
    put16(f + 2 * ETH_ALEN, type);
    return f + ETH_HLEN;
}

/* Builds an ARP packet from us (RFC 826, IPv4 over Ethernet) in tx_frame; returns the frame's length. */
static u32 build_arp(u16 op, const u8 *eth_dst, const u8 *target_mac, u32 target_ip) {
    u8 *a = eth_header(tx_frame, eth_dst, ETH_P_ARP);
    put16(a, ARP_HRD_ETHER);
    put16(a + 2, ETH_P_IP);
    a[4] = ETH_ALEN;
    a[5] = 4;
    put16(a + 6, op);
    copy(a + 8, my_mac, ETH_ALEN);
    put32(a + 14, my_ip);
    copy(a + 18, target_mac, ETH_ALEN);
    put32(a + 24, target_ip);
    return ETH_HLEN + ARP_LEN;
}

/* The echo payload: differs from one sequence number to the next, so a stale reply cannot pass for a fresh one. */
static u8 payload_byte(u16 seq, u32 i) { return (u8) (seq * 0x11 + i); }

/* Builds an ICMP echo request (RFC 792) to the host in an IPv4 packet (RFC 791) in tx_frame; returns its length. */
static u32 build_echo(u16 seq) {
    u8 *ip = eth_header(tx_frame, host_mac, ETH_P_IP);
    u8 *icmp = ip + IP_HLEN;
    u16 icmp_len = ICMP_HLEN + PING_PAYLOAD;
    ip[0] = 0x45; /* version 4, 5 words of header */
    ip[1] = 0;    /* DSCP, ECN */
    put16(ip + 2, IP_HLEN + icmp_len);
    put16(ip + 4, seq); /* identification: unique enough, nothing is fragmented */
    put16(ip + 6, 0);   /* flags, fragment offset */
    ip[8] = IP_TTL;
    ip[9] = IP_PROTO_ICMP;
    put16(ip + 10, 0); /* the checksum is computed over a zero checksum field */
    put32(ip + 12, my_ip);
    put32(ip + 16, host_ip);
    put16(ip + 10, checksum(ip, IP_HLEN));
    icmp[0] = ICMP_ECHO_REQUEST;
    icmp[1] = 0;
    put16(icmp + 2, 0);
    put16(icmp + 4, PING_ID);
    put16(icmp + 6, seq);
    for (u32 i = 0; i < PING_PAYLOAD; i++) icmp[ICMP_HLEN + i] = payload_byte(seq, i);
    put16(icmp + 2, checksum(icmp, icmp_len));
    return ETH_HLEN + IP_HLEN + icmp_len;
}

/* ---- Frames in ---- */

enum wanted { WANT_ARP_REPLY, WANT_ECHO_REPLY };

/* An ARP packet of len bytes: answers requests for our address; returns 1 if it is the host's reply we wait for. */
static int handle_arp(const u8 *a, u32 len, enum wanted want) {
    if (len < ARP_LEN) { dropped("short ARP packet"); return 0; }
    if (get16(a) != ARP_HRD_ETHER || get16(a + 2) != ETH_P_IP || a[4] != ETH_ALEN || a[5] != 4) { skipped++; return 0; }
    u16 op = get16(a + 6);
    const u8 *sender_mac = a + 8;
    u32 sender_ip = get32(a + 14), target_ip = get32(a + 24);
    if (target_ip != my_ip) { skipped++; return 0; }
    if (op == ARP_REQUEST) {
        /* The host kernel may ask before it answers, or to confirm a stale entry: unanswered, it would stop sending. */
        if (send_frame(build_arp(ARP_REPLY, sender_mac, sender_mac, sender_ip))) {
            puts("net: answered arp request from "); put_ip(sender_ip); putc('\n');
        }
        return 0;
    }
    if (op == ARP_REPLY && sender_ip == host_ip && want == WANT_ARP_REPLY) {
        copy(host_mac, sender_mac, ETH_ALEN);
        puts("net: arp reply from "); put_ip(sender_ip); puts(" is-at "); put_mac(host_mac); putc('\n');
        return 1;
    }
    skipped++;
    return 0;
}

/*
 * An IPv4 packet of at most len bytes (Ethernet may have padded it): returns 1 if it is the host's echo reply with
 * sequence number seq, which it prints and whose payload it checks.
 */
static int handle_ipv4(const u8 *ip, u32 len, enum wanted want, u16 seq) {
    if (len < IP_HLEN || ip[0] >> 4 != 4) { dropped("bad IPv4 header"); return 0; }
    u32 header_len = (ip[0] & 0xfu) * 4, total = get16(ip + 2);
    if (header_len < IP_HLEN || total < header_len || total > len) { dropped("bad IPv4 lengths"); return 0; }
    if (checksum(ip, header_len) != 0) { dropped("bad IPv4 header checksum"); return 0; }
    if (want != WANT_ECHO_REPLY || ip[9] != IP_PROTO_ICMP || get32(ip + 12) != host_ip || get32(ip + 16) != my_ip
            || (get16(ip + 6) & IP_MF_AND_OFFSET)) {
        skipped++;
        return 0;
    }
    const u8 *icmp = ip + header_len;
    u32 icmp_len = total - header_len;
    if (icmp_len < ICMP_HLEN) { dropped("short ICMP message"); return 0; }
    if (checksum(icmp, icmp_len) != 0) { dropped("bad ICMP checksum"); return 0; }
    if (icmp[0] != ICMP_ECHO_REPLY || icmp[1] != 0 || get16(icmp + 4) != PING_ID || get16(icmp + 6) != seq) {
        skipped++;
        return 0;
    }
    puts("net: ping seq "); putdec(seq); puts(" reply from "); put_ip(host_ip); puts(" ttl "); putdec(ip[8]);
    puts(" bytes "); putdec(icmp_len); putc('\n');
    int intact = icmp_len == ICMP_HLEN + PING_PAYLOAD;
    for (u32 i = 0; intact && i < PING_PAYLOAD; i++) intact = icmp[ICMP_HLEN + i] == payload_byte(seq, i);
    if (!intact) fail_n("payload differs in the reply to ping seq", seq);
    return 1;
}

/*
 * The frame in rx_buf, used_len bytes by the device's word: that length is checked before anything is read, so a
 * hostile or broken device cannot make the guest read past the buffer. Returns 1 if it was the frame wanted.
 */
static int handle_frame(long used_len, enum wanted want, u16 seq) {
    if (used_len < NET_HDR_LEN + ETH_HLEN) { dropped("shorter than the headers"); return 0; }
    if ((unsigned long) used_len > sizeof rx_buf) { dropped("longer than the receive buffer"); return 0; }
    const u8 *f = rx_buf + NET_HDR_LEN; /* the virtio_net_hdr has nothing for us: no offload was negotiated */
    u32 len = (u32) used_len - NET_HDR_LEN;
    if (!same(f, my_mac, ETH_ALEN) && !same(f, broadcast_mac, ETH_ALEN)) { skipped++; return 0; }
    u16 type = get16(f + 2 * ETH_ALEN);
    if (type == ETH_P_ARP) return handle_arp(f + ETH_HLEN, len - ETH_HLEN, want);
    if (type == ETH_P_IP) return handle_ipv4(f + ETH_HLEN, len - ETH_HLEN, want, seq);
    skipped++; /* IPv6 (the host's router and multicast listener chatter), VLANs, anything else */
    return 0;
}

/*
 * Receives until the wanted frame arrives, answering ARP requests meanwhile; returns 1, or 0 once `spins` polls or
 * WAIT_FRAMES frames went by without it.
 */
static int wait_for(enum wanted want, u16 seq, u64 spins) {
    for (int frames = 0; frames < WAIT_FRAMES; frames++) {
        long len = next_rx(&spins);
        if (len < 0) return 0;
        int found = handle_frame(len, want, seq);
        post_rx(); /* only now: the frame has been read (and any answer built in tx_frame) */
        if (found) return 1;
    }
    return 0;
}

/* ---- Steps 3 to 5 ---- */

/* Steps 3 and 4: who-has the host, tell us; learns the host's MAC from the reply. */
static int resolve_host(void) {
    for (int try = 0; try < ARP_TRIES; try++) {
        if (!send_frame(build_arp(ARP_REQUEST, broadcast_mac, unknown_mac, host_ip))) return 0;
        puts("net: arp who-has "); put_ip(host_ip); puts(" tell "); put_ip(my_ip); puts(" sent\n");
        if (wait_for(WANT_ARP_REPLY, 0, WAIT_SPINS / ARP_TRIES)) return 1;
    }
    fail("no arp reply");
    return 0;
}

/* Step 5: one echo request and its reply. */
static void ping(u16 seq) {
    if (!send_frame(build_echo(seq))) return;
    if (!wait_for(WANT_ECHO_REPLY, seq, WAIT_SPINS)) fail_n("no reply to ping seq", seq);
}

int main(u64 bp) {
    const char *cmdline = (const char *) (u64) read32(bp + BP_HDR_CMD_LINE_PTR);
    map_mmio_hole();
    if (!find_net(bp) || !start_net()) return failures;
    read_mac();
    int addresses = read_address(cmdline, "net.ip=", &my_ip);
    addresses &= read_address(cmdline, "net.host=", &host_ip);
    if (!addresses) return failures;
    puts("net: ip "); put_ip(my_ip); puts(" host "); put_ip(host_ip); putc('\n');
    post_rx();
    if (resolve_host()) {
        for (u16 seq = 1; seq <= PING_COUNT && !tx_stuck; seq++) ping(seq);
    }
    puts("net: skipped "); putdec(skipped); puts(" frames of no interest\n");
    if (!failures) puts("net: done\n");
    return failures;
}
