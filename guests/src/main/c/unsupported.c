/* SPDX-License-Identifier: Apache-2.0 */
/* Executes xgetbv, which the development machines' emulated KVM cannot run: KVM reports an internal error. */
#include "kit.h"

int main(u64 boot_params) {
    (void) boot_params;
    puts("unsupported: xgetbv\n");
    u32 lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    puts("unsupported: xgetbv ran\n");
    return 0;
}
