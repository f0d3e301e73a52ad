/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C baseline for ExitLoopBenchmark: the same real-mode guest (mov cx, N; l: out 0x80, al; loop l; hlt) run by a
 * minimal KVM loop that does nothing per exit but look at exit_reason. Prints microseconds per exit.
 * Usage: exit-loop [exits-per-run] [runs]
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(1); }

int main(int argc, char **argv) {
    int exits = argc > 1 ? atoi(argv[1]) : 1000;
    int runs = argc > 2 ? atoi(argv[2]) : 200;
    if (exits < 1 || exits > 65535 || runs < 1) { fprintf(stderr, "usage: exit-loop [1..65535] [runs]\n"); return 2; }
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("open /dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
    if (vm < 0) die("KVM_CREATE_VM");
    size_t size = 1 << 20;
    unsigned char *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) die("mmap");
    unsigned char code[] = {0xb9, (unsigned char) exits, (unsigned char) (exits >> 8), 0xe6, 0x80, 0xe2, 0xfc, 0xf4};
    memcpy(mem + 0x1000, code, sizeof code);
    struct kvm_userspace_memory_region region = {.slot = 0, .guest_phys_addr = 0, .memory_size = size,
                                                 .userspace_addr = (unsigned long) mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");
    if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0) die("KVM_SET_TSS_ADDR");
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
    if (vcpu < 0) die("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0UL);
    struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) die("mmap kvm_run");
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");

    struct kvm_regs regs;
    long long total = 0;
    struct timespec start, end;
    for (int r = -runs / 10; r < runs; r++) { /* the first tenth warms up */
        memset(&regs, 0, sizeof regs);
        regs.rip = 0x1000;
        regs.rflags = 2;
        if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");
        if (r == 0) clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
            if (ioctl(vcpu, KVM_RUN, 0UL) < 0) die("KVM_RUN");
            if (run->exit_reason == KVM_EXIT_IO) {
                if (r >= 0) total++;
                continue;
            }
            if (run->exit_reason == KVM_EXIT_HLT) break;
            fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double us = ((end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec)) / 1e3;
    printf("C KVM loop: %.3f us/exit over %lld port-I/O exits (%d runs of %d)\n", us / total, total, runs, exits);
    return 0;
}
