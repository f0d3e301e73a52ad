/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The demo guest simple-vmm boots when it is given no kernel: it shows what a guest of vmm4j sees. It prints a banner,
 * the e820 memory map and the command line it got, the virtio devices announced on it, the first 16 bytes of the
 * first disk, 16 bytes from the rng and the balloon's target; then it resets the machine. With "demo.wait" on the
 * command line it stays instead, following the balloon's target with pages of its own (inflating and deflating, and
 * reporting how far it got) until the host stops it.
 */
#include "virtio_mmio.h"

#define MAX_DEVICES 8
#define POOL_PAGES 1024 /* the balloon can take up to 4 MiB of this guest */
#define PFNS_PER_CHAIN 256

struct blk_header { u32 type; u32 reserved; u64 sector; };

static struct virtio_dev devs[MAX_DEVICES];
static u8 pool[POOL_PAGES][4096] __attribute__((aligned(4096)));
static u32 pfns[PFNS_PER_CHAIN];
static struct blk_header header;
static u8 sector[512];
static u8 status;
static u8 random_bytes[16];

static void print_hex(const u8 *bytes, int n) {
    for (int i = 0; i < n; i++) {
        if (i) putc(' ');
        puthex(bytes[i], 2);
    }
}

static void memory_map(u64 bp) {
    u8 entries = read8(bp + BP_E820_ENTRIES);
    puts("memory map:\n");
    for (u8 i = 0; i < entries && i < 128; i++) {
        u64 e = bp + BP_E820_TABLE + 20 * (u64) i;
        u64 start = read64(e), size = read64(e + 8);
        puts("  0x"); puthex(start, 12); puts("-0x"); puthex(start + size - 1, 12);
        puts(read32(e + 16) == 1 ? " usable\n" : " reserved\n");
    }
}

static void disk(struct virtio_dev *d) {
    header.type = 0; /* VIRTIO_BLK_T_IN */
    header.sector = 0;
    status = 0xff;
    struct virtio_buf bufs[3] = {{&header, sizeof header, 0}, {sector, sizeof sector, 1}, {&status, 1, 1}};
    if (virtio_submit(d, bufs, 3) < 0 || status != 0) {
        puts("disk: reading sector 0 failed\n");
        return;
    }
    puts("disk: first sector starts "); print_hex(sector, 16); putc('\n');
}

static void rng(struct virtio_dev *d) {
    struct virtio_buf buf = {random_bytes, sizeof random_bytes, 1};
    if (virtio_submit(d, &buf, 1) != (long) sizeof random_bytes) {
        puts("rng: no bytes\n");
        return;
    }
    puts("rng: "); print_hex(random_bytes, sizeof random_bytes); putc('\n');
}

static u32 balloon_target(struct virtio_dev *d) { return vreg(d, VIRTIO_REG_CONFIG); }

/* Moves the balloon to `target` pages (at most the pool): pages from the end of the pool go in, or come back out. */
static u32 balloon_follow(struct virtio_dev *d, u32 held, u32 target) {
    if (target > POOL_PAGES) target = POOL_PAGES;
    while (held != target) {
        int inflate = target > held;
        u32 n = inflate ? target - held : held - target;
        if (n > PFNS_PER_CHAIN) n = PFNS_PER_CHAIN;
        for (u32 i = 0; i < n; i++) {
            u32 page = inflate ? held + i : held - 1 - i;
            pfns[i] = (u32) ((u64) pool[page] >> 12);
        }
        struct virtio_buf buf = {pfns, 4 * n, 0};
        if (virtio_submit_on(d, inflate ? 0 : 1, &buf, 1) < 0) {
            puts("balloon: the device did not answer\n");
            return held;
        }
        held = inflate ? held + n : held - n;
        write32(d->base + VIRTIO_REG_CONFIG + 4, held); /* actual */
    }
    return held;
}

int main(u64 bp) {
    const char *cmdline = (const char *) (u64) read32(bp + BP_HDR_CMD_LINE_PTR);
    puts("\nvmm4j demo guest: a freestanding program booted by simple-vmm, talking over COM1\n");
    memory_map(bp);
    puts("command line: "); puts(cmdline); putc('\n');

    int n = virtio_discover(bp, devs, MAX_DEVICES);
    puts("virtio devices: "); putdec((u64) n);
    puts(contains(cmdline, "virtio_mmio.device=") ? " (from the command line)\n" : " (from the ACPI tables)\n");
    map_mmio_hole();
    struct virtio_dev *balloon = 0;
    int disks = 0;
    for (int i = 0; i < n; i++) {
        struct virtio_dev *d = &devs[i];
        int err = virtio_init(d, 2);
        puts("  "); puts(virtio_name(d->device_id)); puts(" at 0x"); puthex(d->base, 8); puts(" irq "); putdec(d->irq);
        if (err) { puts(": set-up failed at step "); putdec((u64) -err); putc('\n'); continue; }
        putc('\n');
    }
    for (int i = 0; i < n; i++) {
        struct virtio_dev *d = &devs[i];
        if (d->device_id == 2 && disks++ == 0) disk(d);
        else if (d->device_id == 4) rng(d);
        else if (d->device_id == 5) balloon = d;
    }
    if (!disks) puts("disk: none\n");
    if (balloon) {
        puts("balloon: target "); putdec(balloon_target(balloon)); puts(" pages\n");
    } else {
        puts("balloon: none\n");
    }

    if (!contains(cmdline, "demo.wait")) {
        puts("demo: done, resetting the machine\n");
        return 0;
    }
    puts("demo: waiting for the host (demo.wait)\n");
    u32 held = 0, seen = 0;
    for (;;) {
        if (balloon) {
            u32 target = balloon_target(balloon);
            if (target != seen) {
                seen = target;
                held = balloon_follow(balloon, held, target);
                puts("balloon: target "); putdec(target); puts(" pages, holding "); putdec(held); puts("\n");
            }
        }
        for (volatile u32 spin = 0; spin < 20000; spin++) { }
    }
}
