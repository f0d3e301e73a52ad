/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A reset that waits for a disk transfer must not stall the other vCPU. The boot vCPU sets up the first virtio device
 * (a block device), starts vCPU 1 in 32-bit protected mode where it loops forever reading the device's InterruptStatus
 * (an MMIO exit to the same transport) and writing it to port 0x80 (a port exit the host counts), posts a read, waits
 * until the host says (mailbox word 0 = 1) that the read has reached the image, then resets the device by writing 0 to
 * Status, and prints "reset_during_io: reset done" once that write returns.
 */
#include "virtio_mmio.h"

#define LAPIC 0xfee00000UL
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define TRAMPOLINE 0x10000UL /* start-up vector 0x10 */
#define MAILBOX 0xf000UL     /* word 0: set by the host; word 1: the device's base, for vCPU 1 */

/*
 * vCPU 1's start: real mode at CS = 0x1000, a flat GDT, protected mode, then the loop. Copied to TRAMPOLINE, so every
 * address in it is TRAMPOLINE + its offset.
 */
extern const u8 ap_start[], ap_end[];
__asm__(
    ".pushsection .rodata\n"
    ".set TRAMPOLINE, 0x10000\n"
    ".globl ap_start, ap_end\n"
    "ap_start:\n"
    ".code16\n"
    "    cli\n"
    "    mov %cs, %ax\n"
    "    mov %ax, %ds\n"
    "    lgdtl ap_gdt_descriptor - ap_start\n"
    "    mov %cr0, %eax\n"
    "    or $1, %eax\n"
    "    mov %eax, %cr0\n"
    "    ljmpl $0x08, $(TRAMPOLINE + ap_protected - ap_start)\n"
    ".code32\n"
    "ap_protected:\n"
    "    mov $0x10, %ax\n"
    "    mov %ax, %ds\n"
    "    mov %ax, %es\n"
    "    mov %ax, %ss\n"
    "    mov 0xf004, %esi\n"
    "1:  mov 0x60(%esi), %eax\n"
    "    out %al, $0x80\n"
    "    jmp 1b\n"
    "    .balign 8\n"
    "ap_gdt:\n"
    "    .quad 0\n"
    "    .quad 0x00cf9a000000ffff\n" /* code, flat 4 GiB, 32-bit */
    "    .quad 0x00cf92000000ffff\n" /* data, flat 4 GiB */
    "ap_gdt_descriptor:\n"
    "    .word 23\n"
    "    .long TRAMPOLINE + ap_gdt - ap_start\n"
    "ap_end:\n"
    ".code64\n"
    ".popsection\n");

static struct virtio_dev devs[1];
static struct { u32 type; u32 reserved; u64 sector; } header;
static u8 sector[512];
static u8 status;

static void lapic_write(u32 reg, u32 value) { *(volatile u32 *) (LAPIC + reg) = value; }
static u32 lapic_read(u32 reg) { return *(volatile u32 *) (LAPIC + reg); }

static void wait_for_delivery(void) {
    for (int i = 0; i < 10000 && (lapic_read(LAPIC_ICR_LOW) & (1 << 12)); i++) { }
}

static void start_vcpu1(void) {
    for (const u8 *p = ap_start; p < ap_end; p++) *(volatile u8 *) (TRAMPOLINE + (u64) (p - ap_start)) = *p;
    lapic_write(LAPIC_SVR, 0x1ff);
    lapic_write(LAPIC_ICR_HIGH, 1u << 24);
    lapic_write(LAPIC_ICR_LOW, 0x4500); /* INIT */
    wait_for_delivery();
    lapic_write(LAPIC_ICR_HIGH, 1u << 24);
    lapic_write(LAPIC_ICR_LOW, 0x4600 | (TRAMPOLINE >> 12)); /* start-up IPI */
    wait_for_delivery();
}

int main(u64 bp) {
    if (virtio_discover(bp, devs, 1) != 1) {
        puts("reset_during_io: FAIL no virtio device\n");
        return 1;
    }
    map_mmio_hole(); /* the device windows, and the local APIC at 0xfee00000 */
    struct virtio_dev *d = &devs[0];
    if (virtio_init(d, 1) != 0 || d->device_id != 2) {
        puts("reset_during_io: FAIL the first device is not a working block device\n");
        return 1;
    }
    volatile u32 *mailbox = (volatile u32 *) MAILBOX;
    mailbox[0] = 0;
    mailbox[1] = (u32) d->base;
    start_vcpu1();
    puts("reset_during_io: vcpu 1 started\n");

    header.type = 0; /* VIRTIO_BLK_T_IN */
    header.sector = 0;
    status = 0xff;
    struct virtio_buf bufs[3] = {{&header, sizeof header, 0}, {sector, sizeof sector, 1}, {&status, 1, 1}};
    virtio_post_on(d, 0, bufs, 3);
    while (mailbox[0] != 1) { } /* the host: the read has reached the image */
    puts("reset_during_io: resetting\n");
    vset(d, VIRTIO_REG_STATUS, 0);
    puts("reset_during_io: reset done, status ");
    putdec(vreg(d, VIRTIO_REG_STATUS));
    putc('\n');
    return 0;
}
