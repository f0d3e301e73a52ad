/* SPDX-License-Identifier: Apache-2.0 */
/* Says it started, then spins forever: the host has to stop it. */
#include "kit.h"

int main(u64 boot_params) {
    (void) boot_params;
    puts("spin: spinning\n");
    for (;;) {
        __asm__ volatile("" ::: "memory");
    }
}
