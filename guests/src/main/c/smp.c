/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starts the second vCPU the way an x86 kernel does: INIT, then a start-up IPI through the local APIC, to a
 * real-mode trampoline that sets a flag in memory. Prints "smp: ap 1 started" or "smp: FAIL ...". The boot identity
 * map covers only the first GiB, so the guest first maps the local APIC page (0xfee00000) itself.
 */
#include "kit.h"

#define LAPIC 0xfee00000UL
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define TRAMPOLINE 0x10000UL /* start-up vector 0x10 */
#define FLAG (TRAMPOLINE + 0xff0)

static u64 page_directory[512] __attribute__((aligned(4096)));

static void lapic_write(u32 reg, u32 value) { *(volatile u32 *) (LAPIC + reg) = value; }
static u32 lapic_read(u32 reg) { return *(volatile u32 *) (LAPIC + reg); }

/* Real mode, CS = 0x1000 (DS is 0 after INIT): mov ax, cs; mov ds, ax; mov byte [0x0ff0], 1; then hlt forever. */
static const u8 trampoline[] = {0x8c, 0xc8, 0x8e, 0xd8, 0xc6, 0x06, 0xf0, 0x0f, 0x01, 0xf4, 0xeb, 0xfd};

static void wait_for_delivery(void) {
    for (int i = 0; i < 10000 && (lapic_read(LAPIC_ICR_LOW) & (1 << 12)); i++) { }
}

int main(u64 boot_params) {
    (void) boot_params;
    u64 cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    u64 *pdpt = (u64 *) (read64(cr3 & ~0xfffUL) & ~0xfffUL);
    page_directory[(LAPIC - 0xc0000000UL) >> 21] = (LAPIC & ~0x1fffffUL) | 0x9b; /* present, writable, uncached, 2 MiB */
    pdpt[3] = (u64) page_directory | 0x3;
    __asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");

    for (unsigned i = 0; i < sizeof trampoline; i++) *(volatile u8 *) (TRAMPOLINE + i) = trampoline[i];
    *(volatile u8 *) FLAG = 0;

    lapic_write(LAPIC_SVR, 0x1ff); /* software-enable the local APIC */
    lapic_write(LAPIC_ICR_HIGH, 1u << 24);
    lapic_write(LAPIC_ICR_LOW, 0x4500); /* INIT, level assert */
    wait_for_delivery();
    lapic_write(LAPIC_ICR_HIGH, 1u << 24);
    lapic_write(LAPIC_ICR_LOW, 0x4600 | (TRAMPOLINE >> 12)); /* start-up IPI */
    wait_for_delivery();

    for (u64 i = 0; i < 300000UL; i++) { /* about a second of emulated ring 0 */
        if (*(volatile u8 *) FLAG) {
            puts("smp: ap 1 started\n");
            return 0;
        }
    }
    puts("smp: FAIL ap 1 did not start\n");
    return 1;
}
