/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives the virtio devices the VMM announced: on a block device it reads sectors 0-1, writes them back inverted,
 * flushes, reads them again to check, asks for the device ID and for a sector past the end; on an rng it reads 16
 * random bytes. Prints what it saw ("virtio: ..." lines) for the host test, then "virtio: done" or "virtio: FAIL ...".
 */
#include "virtio_mmio.h"

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8

struct blk_header { u32 type; u32 reserved; u64 sector; };

static struct virtio_dev devs[4];
static struct blk_header header;
static u8 sectors[1024];
static u8 check[1024];
static u8 status;
static char id[21];
static u8 random_bytes[16];
static int failures;

static void fail(const char *what) {
    puts("virtio: FAIL ");
    puts(what);
    putc('\n');
    failures++;
}

static int blk_request(struct virtio_dev *d, u32 type, u64 sector, void *data, u32 len, int device_writes) {
    header.type = type;
    header.reserved = 0;
    header.sector = sector;
    status = 0xff;
    struct virtio_buf bufs[3] = {{&header, sizeof header, 0}, {data, len, device_writes}, {&status, 1, 1}};
    if (len == 0) {
        bufs[1] = bufs[2];
        if (virtio_submit(d, bufs, 2) < 0) return -1;
    } else if (virtio_submit(d, bufs, 3) < 0) {
        return -1;
    }
    return status;
}

static void print_hex(const u8 *bytes, int n) {
    for (int i = 0; i < n; i++) puthex(bytes[i], 2);
}

static void block(struct virtio_dev *d) {
    u64 capacity = read32(d->base + VIRTIO_REG_CONFIG) | ((u64) read32(d->base + VIRTIO_REG_CONFIG + 4) << 32);
    puts("virtio: blk capacity "); putdec(capacity); puts(" sectors\n");
    if (blk_request(d, VIRTIO_BLK_T_GET_ID, 0, id, 20, 1) != 0) fail("blk get-id");
    puts("virtio: blk id "); puts(id); putc('\n');
    if (blk_request(d, VIRTIO_BLK_T_IN, 0, sectors, sizeof sectors, 1) != 0) { fail("blk read"); return; }
    puts("virtio: blk sector 0 starts "); print_hex(sectors, 16); putc('\n');
    for (unsigned i = 0; i < sizeof sectors; i++) sectors[i] = (u8) ~sectors[i];
    if (blk_request(d, VIRTIO_BLK_T_OUT, 0, sectors, sizeof sectors, 0) != 0) { fail("blk write"); return; }
    if (blk_request(d, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0) != 0) fail("blk flush");
    if (blk_request(d, VIRTIO_BLK_T_IN, 0, check, sizeof check, 1) != 0) { fail("blk read back"); return; }
    for (unsigned i = 0; i < sizeof check; i++) {
        if (check[i] != sectors[i]) { fail("blk read back differs"); return; }
    }
    puts("virtio: blk wrote sectors 0-1 inverted\n");
    int past = blk_request(d, VIRTIO_BLK_T_IN, capacity, check, 512, 1);
    puts("virtio: blk read past the end: status "); putdec((u64) past); putc('\n');
}

static void rng(struct virtio_dev *d) {
    struct virtio_buf buf = {random_bytes, sizeof random_bytes, 1};
    long got = virtio_submit(d, &buf, 1);
    if (got != (long) sizeof random_bytes) { fail("rng read"); return; }
    puts("virtio: rng "); print_hex(random_bytes, sizeof random_bytes); putc('\n');
}

/* Whether the command line holds the word "virtio.blk_loop". */
static int wants_blk_loop(u64 bp) {
    const char *cmdline = (const char *) (u64) read32(bp + BP_HDR_CMD_LINE_PTR);
    const char *word = "virtio.blk_loop";
    for (const char *p = cmdline; *p; p++) {
        int i = 0;
        while (word[i] && p[i] == word[i]) i++;
        if (!word[i]) return 1;
    }
    return 0;
}

/*
 * Writes 1 KiB to the block device forever, each write 64 KiB past the last (a new qcow2 cluster each, until the
 * writes wrap), printing "virtio: blk loop N" every 16 writes: for tests that kill a device mid-I/O.
 */
static void blk_loop(struct virtio_dev *d) {
    u64 capacity = read32(d->base + VIRTIO_REG_CONFIG) | ((u64) read32(d->base + VIRTIO_REG_CONFIG + 4) << 32);
    for (u64 n = 0;; n++) {
        for (unsigned i = 0; i < sizeof sectors; i++) sectors[i] = (u8) (n + i);
        u64 sector = (n * 128) % (capacity - 2);
        if (blk_request(d, VIRTIO_BLK_T_OUT, sector, sectors, sizeof sectors, 0) != 0) {
            fail("blk loop write");
            return;
        }
        if (n % 16 == 0) { puts("virtio: blk loop "); putdec(n); putc('\n'); }
    }
}

int main(u64 bp) {
    int n = virtio_discover(bp, devs, 4);
    puts("virtio: "); putdec((u64) n); puts(" devices\n");
    map_mmio_hole();
    for (int i = 0; i < n; i++) {
        struct virtio_dev *d = &devs[i];
        int err = virtio_init(d, 1);
        puts("virtio: device "); putdec(d->device_id); puts(" at 0x"); puthex(d->base, 8); puts(" irq "); putdec(d->irq);
        if (err) { puts(" init failed at step "); putdec((u64) -err); putc('\n'); failures++; continue; }
        putc('\n');
        if (d->device_id == 2) block(d);
        else if (d->device_id == 4) rng(d);
        u32 pending = vreg(d, VIRTIO_REG_INTERRUPT_STATUS);
        vset(d, VIRTIO_REG_INTERRUPT_ACK, pending);
        puts("virtio: interrupt status "); putdec(pending); puts(", after ack "); putdec(vreg(d, VIRTIO_REG_INTERRUPT_STATUS));
        putc('\n');
    }
    puts(failures ? "virtio: FAILED\n" : "virtio: done\n");
    if (wants_blk_loop(bp)) {
        for (int i = 0; i < n; i++) {
            if (devs[i].device_id == 2) blk_loop(&devs[i]);
        }
    }
    return failures;
}
