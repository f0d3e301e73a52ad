/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prints a line and ends the VM: the smallest guest. First it writes a POST code to port 0x80, as firmware does; nothing
 * listens there unless a test puts a device on that port.
 */
#include "kit.h"

int main(u64 boot_params) {
    (void) boot_params;
    outb(0x80, 0x55);
    puts("hello from a vmm4j guest\n");
    return 0;
}
