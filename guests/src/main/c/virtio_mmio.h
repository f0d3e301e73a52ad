/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal virtio-mmio driver for test guests (virtio 1.2, sections 2.7 and 4.2): finds the devices the VMM announced
 * with virtio_mmio.device=<size>@<base>:<irq> on the command line or in its ACPI tables, negotiates VIRTIO_F_VERSION_1 only, sets up the
 * first one or two queues with 8 entries each in static memory, and submits one chain at a time, polling the used
 * ring for completion. Interrupts are not taken (the guest has no IDT); InterruptStatus is read and acknowledged by
 * hand.
 */
#ifndef VMM4J_VIRTIO_MMIO_H
#define VMM4J_VIRTIO_MMIO_H

#include "acpi.h"
#include "kit.h"

#define VIRTIO_MAGIC 0x74726976
#define VIRTIO_REG_MAGIC 0x000
#define VIRTIO_REG_VERSION 0x004
#define VIRTIO_REG_DEVICE_ID 0x008
#define VIRTIO_REG_DEVICE_FEATURES 0x010
#define VIRTIO_REG_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_REG_DRIVER_FEATURES 0x020
#define VIRTIO_REG_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_REG_QUEUE_SEL 0x030
#define VIRTIO_REG_QUEUE_NUM_MAX 0x034
#define VIRTIO_REG_QUEUE_NUM 0x038
#define VIRTIO_REG_QUEUE_READY 0x044
#define VIRTIO_REG_QUEUE_NOTIFY 0x050
#define VIRTIO_REG_INTERRUPT_STATUS 0x060
#define VIRTIO_REG_INTERRUPT_ACK 0x064
#define VIRTIO_REG_STATUS 0x070
#define VIRTIO_REG_QUEUE_DESC 0x080
#define VIRTIO_REG_QUEUE_DRIVER 0x090
#define VIRTIO_REG_QUEUE_DEVICE 0x0a0
#define VIRTIO_REG_CONFIG 0x100

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define QUEUE_SIZE 8

struct virtq_desc { u64 addr; u32 len; u16 flags; u16 next; };
struct virtq_avail { u16 flags; u16 idx; u16 ring[QUEUE_SIZE]; u16 used_event; };
struct virtq_used_elem { u32 id; u32 len; };
struct virtq_used { u16 flags; u16 idx; struct virtq_used_elem ring[QUEUE_SIZE]; u16 avail_event; };

struct virtq {
    struct virtq_desc desc[QUEUE_SIZE] __attribute__((aligned(16)));
    struct virtq_avail avail __attribute__((aligned(2)));
    struct virtq_used used __attribute__((aligned(4)));
    u16 last_used;
};

#define MAX_QUEUES 2

struct virtio_dev {
    u64 base;
    u32 irq;
    u32 device_id;
    struct virtq q[MAX_QUEUES];
};

static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void write32(u64 address, u32 value) { *(volatile u32 *) address = value; }
static inline u32 vreg(struct virtio_dev *d, u32 reg) { return read32(d->base + reg); }
static inline void vset(struct virtio_dev *d, u32 reg, u32 value) { write32(d->base + reg, value); }

/* Maps 3-4 GiB (where the MMIO windows live) uncached with 2 MiB pages: the boot tables cover only the first GiB. */
static inline void map_mmio_hole(void) {
    static u64 page_directory[512] __attribute__((aligned(4096)));
    u64 cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    u64 *pdpt = (u64 *) (read64(cr3 & ~0xfffUL) & ~0xfffUL);
    for (u64 i = 0; i < 512; i++) page_directory[i] = (0xc0000000UL + (i << 21)) | 0x9b; /* present, rw, PWT, PCD, 2 MiB */
    pdpt[3] = (u64) page_directory | 0x3;
    __asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

static inline u64 parse_hex(const char **p) {
    u64 v = 0;
    for (;; (*p)++) {
        char c = **p;
        if (c >= '0' && c <= '9') v = v * 16 + (u64) (c - '0');
        else if (c >= 'a' && c <= 'f') v = v * 16 + (u64) (c - 'a' + 10);
        else return v;
    }
}

static inline u64 parse_dec(const char **p) {
    u64 v = 0;
    while (**p >= '0' && **p <= '9') v = v * 10 + (u64) (*(*p)++ - '0');
    return v;
}

/* Fills devs from the command line's virtio_mmio.device=<size>@0x<base>:<irq>; returns how many it found. */
static inline int virtio_find(const char *cmdline, struct virtio_dev *devs, int max) {
    static const char key[] = "virtio_mmio.device=";
    int n = 0;
    for (const char *p = cmdline; *p && n < max; p++) {
        const char *k = key, *q = p;
        while (*k && *q == *k) { k++; q++; }
        if (*k) continue;
        while (*q && *q != '@') q++;
        if (q[0] != '@' || q[1] != '0' || q[2] != 'x') continue;
        q += 3;
        devs[n].base = parse_hex(&q);
        if (*q != ':') continue;
        q++;
        devs[n].irq = (u32) parse_dec(&q);
        n++;
    }
    return n;
}

/*
 * Fills devs from the command line's virtio_mmio.device= parameters if it has any, else from the ACPI tables (the
 * DSDT's LNRO0005 devices), as the VMM announced them; returns how many it found.
 */
static inline int virtio_discover(u64 bp, struct virtio_dev *devs, int max) {
    const char *cmdline = (const char *) (u64) read32(bp + BP_HDR_CMD_LINE_PTR);
    int n = virtio_find(cmdline, devs, max);
    if (n > 0) return n;
    u64 bases[16];
    u32 irqs[16];
    n = acpi_virtio_mmio(bp, bases, irqs, max < 16 ? max : 16);
    for (int i = 0; i < n; i++) {
        devs[i].base = bases[i];
        devs[i].irq = irqs[i];
    }
    return n;
}

/*
 * The driver's set-up (3.1.1) with up to `queues` queues (fewer if the device has fewer). Returns 0, or a negative step
 * number where the device refused.
 */
static inline int virtio_init(struct virtio_dev *d, int queues) {
    if (vreg(d, VIRTIO_REG_MAGIC) != VIRTIO_MAGIC || vreg(d, VIRTIO_REG_VERSION) != 2) return -1;
    d->device_id = vreg(d, VIRTIO_REG_DEVICE_ID);
    vset(d, VIRTIO_REG_STATUS, 0);
    vset(d, VIRTIO_REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    vset(d, VIRTIO_REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vset(d, VIRTIO_REG_DEVICE_FEATURES_SEL, 1);
    if (!(vreg(d, VIRTIO_REG_DEVICE_FEATURES) & 1)) return -2; /* VIRTIO_F_VERSION_1 */
    vset(d, VIRTIO_REG_DRIVER_FEATURES_SEL, 0);
    vset(d, VIRTIO_REG_DRIVER_FEATURES, 0);
    vset(d, VIRTIO_REG_DRIVER_FEATURES_SEL, 1);
    vset(d, VIRTIO_REG_DRIVER_FEATURES, 1);
    u32 status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    vset(d, VIRTIO_REG_STATUS, status);
    if (!(vreg(d, VIRTIO_REG_STATUS) & VIRTIO_STATUS_FEATURES_OK)) return -3;
    for (int i = 0; i < queues && i < MAX_QUEUES; i++) {
        struct virtq *q = &d->q[i];
        vset(d, VIRTIO_REG_QUEUE_SEL, (u32) i);
        u32 max = vreg(d, VIRTIO_REG_QUEUE_NUM_MAX);
        if (max == 0 && i > 0) break; /* the device has fewer queues */
        if (max < QUEUE_SIZE) return -4;
        vset(d, VIRTIO_REG_QUEUE_NUM, QUEUE_SIZE);
        vset(d, VIRTIO_REG_QUEUE_DESC, (u32) (u64) q->desc);
        vset(d, VIRTIO_REG_QUEUE_DESC + 4, (u32) ((u64) q->desc >> 32));
        vset(d, VIRTIO_REG_QUEUE_DRIVER, (u32) (u64) &q->avail);
        vset(d, VIRTIO_REG_QUEUE_DRIVER + 4, (u32) ((u64) &q->avail >> 32));
        vset(d, VIRTIO_REG_QUEUE_DEVICE, (u32) (u64) &q->used);
        vset(d, VIRTIO_REG_QUEUE_DEVICE + 4, (u32) ((u64) &q->used >> 32));
        vset(d, VIRTIO_REG_QUEUE_READY, 1);
        q->last_used = 0;
    }
    vset(d, VIRTIO_REG_STATUS, status | VIRTIO_STATUS_DRIVER_OK);
    if (vreg(d, VIRTIO_REG_STATUS) != (status | VIRTIO_STATUS_DRIVER_OK)) return -5;
    return 0;
}

struct virtio_buf { void *addr; u32 len; int writable; };

/* Makes one chain (descriptors 0..n-1) available on queue `queue` and notifies the device; does not wait. */
static inline void virtio_post_on(struct virtio_dev *d, int queue, const struct virtio_buf *bufs, int n) {
    struct virtq *q = &d->q[queue];
    for (int i = 0; i < n; i++) {
        q->desc[i].addr = (u64) bufs[i].addr;
        q->desc[i].len = bufs[i].len;
        q->desc[i].flags = (u16) ((bufs[i].writable ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
        q->desc[i].next = (u16) (i + 1);
    }
    volatile struct virtq_avail *avail = &q->avail;
    avail->ring[avail->idx % QUEUE_SIZE] = 0;
    barrier(); /* x86 keeps stores in order; the compiler must too: descriptors and ring entry before idx */
    avail->idx = (u16) (avail->idx + 1);
    barrier();
    vset(d, VIRTIO_REG_QUEUE_NOTIFY, (u32) queue);
}

/*
 * Polls queue `queue`'s used ring for the next element. Returns the length the device reported, or -1 if nothing came
 * back in about ten seconds of emulated time.
 */
static inline long virtio_wait_on(struct virtio_dev *d, int queue) {
    struct virtq *q = &d->q[queue];
    volatile struct virtq_used *used = &q->used;
    for (u64 spin = 0; spin < 3000000UL; spin++) {
        if (used->idx != q->last_used) {
            barrier();
            long len = used->ring[q->last_used % QUEUE_SIZE].len;
            q->last_used++;
            return len;
        }
    }
    return -1;
}

/* Submits one chain on queue `queue` and waits for it: virtio_post_on, then virtio_wait_on. */
static inline long virtio_submit_on(struct virtio_dev *d, int queue, const struct virtio_buf *bufs, int n) {
    virtio_post_on(d, queue, bufs, n);
    return virtio_wait_on(d, queue);
}

static inline long virtio_submit(struct virtio_dev *d, const struct virtio_buf *bufs, int n) {
    return virtio_submit_on(d, 0, bufs, n);
}

static inline const char *virtio_name(u32 device_id) {
    switch (device_id) {
    case 1: return "virtio-net";
    case 2: return "virtio-blk";
    case 4: return "virtio-rng";
    case 5: return "virtio-balloon";
    default: return "virtio device";
    }
}

#endif
