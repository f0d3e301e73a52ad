/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Linux /init that makes no system call: it spins, so the kernel stays up (timers, workqueues, drivers) for as long
 * as the host lets it. On a KVM where user space cannot make system calls this is the only /init that can run.
 */
void _start(void) {
    for (;;) {
        __asm__ volatile("pause");
    }
}
