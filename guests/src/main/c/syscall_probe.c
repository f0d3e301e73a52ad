/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Can this KVM run user space? Drops to ring 3 (flat user segments, user pages, IOPL 3 so that it may write the serial
 * port) and executes syscall, with LSTAR pointing at an entry that reads its own privilege level from CS. Prints
 * "syscall_probe: entered ring 0" (as on hardware KVM), or "syscall_probe: FAIL still in ring 3 at LSTAR" (as on an
 * emulating KVM that does not switch privilege); anything else (a fault, a triple fault) also means no.
 */
#include "kit.h"

static u64 gdt[5] __attribute__((aligned(16)));
static u8 user_stack[8192] __attribute__((aligned(16)));

extern void syscall_entry(void);
extern void user_code(void);
void report(u64 cs);
__asm__(".globl syscall_entry, user_code\n"
        "syscall_entry:\n"
        "    mov %cs, %rdi\n"
        "    call report\n"
        "user_code:\n"
        "    syscall\n"
        "1:  jmp 1b\n");

static void wrmsr(u32 msr, u64 value) {
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((u32) value), "d"((u32) (value >> 32)));
}

static u64 rdmsr(u32 msr) {
    u32 low, high;
    __asm__ volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
    return ((u64) high << 32) | low;
}

__attribute__((noreturn)) void report(u64 cs) {
    puts((cs & 3) == 0 ? "syscall_probe: entered ring 0\n" : "syscall_probe: FAIL still in ring 3 at LSTAR\n");
    reset();
}

int main(u64 boot_params) {
    (void) boot_params;
    gdt[1] = 0x00af9b000000ffffUL; /* 0x08 kernel code, 64-bit */
    gdt[2] = 0x00cf93000000ffffUL; /* 0x10 kernel data */
    gdt[3] = 0x00cff3000000ffffUL; /* 0x18 user data, DPL 3 */
    gdt[4] = 0x00affb000000ffffUL; /* 0x20 user code, 64-bit, DPL 3 */
    struct { u16 limit; u64 base; } __attribute__((packed)) gdtr = {sizeof gdt - 1, (u64) gdt};
    __asm__ volatile("lgdt %0" : : "m"(gdtr));

    /* The boot identity map is supervisor-only: let ring 3 use it (the first GiB, 2 MiB pages). */
    u64 cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    u64 *pml4 = (u64 *) (cr3 & ~0xfffUL);
    pml4[0] |= 4;
    u64 *pdpt = (u64 *) (pml4[0] & ~0xfffUL);
    pdpt[0] |= 4;
    u64 *pd = (u64 *) (pdpt[0] & ~0xfffUL);
    for (int i = 0; i < 512; i++) pd[i] |= 4;
    __asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");

    wrmsr(0xc0000080, rdmsr(0xc0000080) | 1);                 /* EFER.SCE */
    wrmsr(0xc0000081, (0x13UL << 48) | (0x08UL << 32));        /* STAR: kernel CS 0x08, user base 0x10 */
    wrmsr(0xc0000082, (u64) syscall_entry);                    /* LSTAR */
    wrmsr(0xc0000084, 0);                                      /* SFMASK: keep IOPL */
    puts("syscall_probe: to ring 3\n");
    __asm__ volatile("push $0x1b\n"     /* SS: user data */
                     "push %0\n"        /* RSP */
                     "push $0x3002\n"   /* RFLAGS: IOPL 3 */
                     "push $0x23\n"     /* CS: user code */
                     "push %1\n"        /* RIP */
                     "iretq\n"
                     : : "r"(user_stack + sizeof user_stack), "r"(user_code) : "memory");
    return 1;
}
