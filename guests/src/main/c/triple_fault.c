/* SPDX-License-Identifier: Apache-2.0 */
/* Loads an empty IDT and divides by zero: #DE, #DF, then a triple fault that KVM reports as a shutdown. */
#include "kit.h"

int main(u64 boot_params) {
    (void) boot_params;
    struct __attribute__((packed)) { u16 limit; u64 base; } idt = {0, 0};
    puts("triple_fault: about to fault\n");
    __asm__ volatile("lidt %0" : : "m"(idt));
    /* In assembly: C's division by zero is undefined, and the compiler may leave the division out. */
    __asm__ volatile("xor %%ecx, %%ecx\n\tdiv %%ecx" : : : "eax", "ecx", "edx");
    puts("triple_fault: still running?\n");
    return 1;
}
