/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs the two instructions Linux needs that an emulating KVM rejects: int3, with an IDT whose breakpoint handler
 * counts and returns, and fwait. Prints "assists: int3 trapped to the guest's handler 1 time(s)" and
 * "assists: fwait passed", then resets. Where KVM runs guest code in hardware both simply run; where it emulates ring 0,
 * the VMM must complete them (vmm4j's emulation assists) or the VM ends with KVM's internal error.
 */
#include "kit.h"

struct idt_gate { u16 offset_low; u16 selector; u8 ist; u8 type; u16 offset_mid; u32 offset_high; u32 zero; };
static struct idt_gate idt[256] __attribute__((aligned(16)));

volatile u64 breakpoints;
extern void breakpoint_handler(void);
__asm__(".globl breakpoint_handler\n"
        "breakpoint_handler:\n"
        "    lock incq breakpoints(%rip)\n"
        "    iretq\n");

int main(u64 boot_params) {
    (void) boot_params;
    u64 handler = (u64) breakpoint_handler;
    idt[3] = (struct idt_gate) {(u16) handler, 0x08, 0, 0x8f, (u16) (handler >> 16), (u32) (handler >> 32), 0}; /* trap gate */
    struct { u16 limit; u64 base; } __attribute__((packed)) idtr = {sizeof idt - 1, (u64) idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
    __asm__ volatile("int3" ::: "memory");
    puts("assists: int3 trapped to the guest's handler ");
    putdec(breakpoints);
    puts(" time(s)\n");
    __asm__ volatile("fwait" ::: "memory");
    puts("assists: fwait passed\n");
    return 0;
}
