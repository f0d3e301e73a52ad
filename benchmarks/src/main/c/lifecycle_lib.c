/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C side of VmLifecycleBenchmark.c and .cWithIrqchip: a whole VM's life in the fewest KVM calls, as a minimal C VMM
 * does it. Opens /dev/kvm, makes a VM with memory_bytes of anonymous memory at guest address 0 and one vCPU in real
 * mode at 0x1000, runs it to its first exit, closes everything. Without irqchip the guest is a HLT, and the HLT is the
 * exit; with it the VM also gets KVM's in-kernel interrupt controllers and PIT, as vmm4j's x86 machine has (a HLT then
 * stays in the kernel), and the guest resets itself through the i8042's port 0x64, which is the exit. Returns 0, or
 * -errno of the step that failed (-EINVAL if the first exit was not the expected one).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

long vmm4j_c_lifecycle(long memory_bytes, int irqchip) {
    long result = 0;
    int kvm = -1, vm = -1, vcpu = -1;
    void *memory = MAP_FAILED;
    struct kvm_run *run = MAP_FAILED;
    long run_size = 0;

    if ((kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0) goto failed;
    if ((vm = ioctl(kvm, KVM_CREATE_VM, 0UL)) < 0) goto failed;
    if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0) goto failed;
    if (irqchip) {
        struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
        if (ioctl(vm, KVM_CREATE_IRQCHIP, 0UL) < 0) goto failed;
        if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0) goto failed;
    }
    memory = mmap(NULL, memory_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) goto failed;
    static const uint8_t reset[] = {0xb0, 0xfe, 0xe6, 0x64, 0xf4}; /* mov al, 0xfe | out 0x64, al | hlt */
    for (unsigned i = 0; i < sizeof reset; i++) ((uint8_t *) memory)[0x1000 + i] = irqchip ? reset[i] : 0xf4;
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = (uint64_t) memory_bytes, .userspace_addr = (uint64_t) memory};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) goto failed;
    if ((vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL)) < 0) goto failed;
    if ((run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0UL)) < 0) goto failed;
    run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) goto failed;
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) goto failed;
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) goto failed;
    struct kvm_regs regs = {.rip = 0x1000, .rflags = 2};
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) goto failed;
    if (ioctl(vcpu, KVM_RUN, 0UL) < 0) goto failed;
    result = irqchip ? (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x64 ? 0 : -EINVAL)
                     : (run->exit_reason == KVM_EXIT_HLT ? 0 : -EINVAL);
    goto done;
failed:
    result = -errno;
done:
    if (run != MAP_FAILED) munmap(run, run_size);
    if (vcpu >= 0) close(vcpu);
    if (memory != MAP_FAILED) munmap(memory, memory_bytes);
    if (vm >= 0) close(vm);
    if (kvm >= 0) close(kvm);
    return result;
}
