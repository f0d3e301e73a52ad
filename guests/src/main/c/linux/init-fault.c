/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Linux /init that faults on purpose: its first store is to address 0. The kernel kills init with SIGSEGV, panics
 * ("Attempted to kill init!") and, with panic=-1 reboot=k, resets the machine through the keyboard controller.
 */
void _start(void) {
    *(volatile int *) 0 = 1;
    for (;;) {
    }
}
