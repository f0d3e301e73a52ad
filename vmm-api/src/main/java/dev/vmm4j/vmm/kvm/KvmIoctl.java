// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCall;
import dev.vmm4j.kvm.bindings.aarch64.Aarch64Headers;
import java.lang.foreign.MemorySegment;
import java.util.function.Supplier;

/**
 * The KVM ioctls vmm4j issues, named as in {@code <linux/kvm.h>} so that errors name them; the request numbers
 * come from the generated bindings.
 */
enum KvmIoctl {
    // System (/dev/kvm)
    KVM_GET_API_VERSION(LinuxHeaders.KVM_GET_API_VERSION()),
    KVM_CREATE_VM(LinuxHeaders.KVM_CREATE_VM()),
    KVM_CHECK_EXTENSION(LinuxHeaders.KVM_CHECK_EXTENSION()),
    KVM_GET_VCPU_MMAP_SIZE(LinuxHeaders.KVM_GET_VCPU_MMAP_SIZE()),
    KVM_GET_SUPPORTED_CPUID(LinuxHeaders.KVM_GET_SUPPORTED_CPUID()),
    KVM_GET_EMULATED_CPUID(LinuxHeaders.KVM_GET_EMULATED_CPUID()),
    KVM_GET_MSR_INDEX_LIST(LinuxHeaders.KVM_GET_MSR_INDEX_LIST()),
    KVM_GET_MSR_FEATURE_INDEX_LIST(LinuxHeaders.KVM_GET_MSR_FEATURE_INDEX_LIST()),
    // VM
    KVM_SET_USER_MEMORY_REGION(LinuxHeaders.KVM_SET_USER_MEMORY_REGION()),
    KVM_GET_DIRTY_LOG(LinuxHeaders.KVM_GET_DIRTY_LOG()),
    KVM_CREATE_IRQCHIP(LinuxHeaders.KVM_CREATE_IRQCHIP()),
    KVM_GET_IRQCHIP(LinuxHeaders.KVM_GET_IRQCHIP()),
    KVM_SET_IRQCHIP(LinuxHeaders.KVM_SET_IRQCHIP()),
    KVM_CREATE_PIT2(LinuxHeaders.KVM_CREATE_PIT2()),
    KVM_GET_PIT2(LinuxHeaders.KVM_GET_PIT2()),
    KVM_SET_PIT2(LinuxHeaders.KVM_SET_PIT2()),
    KVM_SET_TSS_ADDR(LinuxHeaders.KVM_SET_TSS_ADDR()),
    KVM_SET_IDENTITY_MAP_ADDR(LinuxHeaders.KVM_SET_IDENTITY_MAP_ADDR()),
    KVM_IRQ_LINE(LinuxHeaders.KVM_IRQ_LINE()),
    KVM_IRQFD(LinuxHeaders.KVM_IRQFD()),
    KVM_IOEVENTFD(LinuxHeaders.KVM_IOEVENTFD()),
    KVM_SET_GSI_ROUTING(LinuxHeaders.KVM_SET_GSI_ROUTING()),
    KVM_SIGNAL_MSI(LinuxHeaders.KVM_SIGNAL_MSI()),
    KVM_CREATE_VCPU(LinuxHeaders.KVM_CREATE_VCPU()),
    KVM_CREATE_DEVICE(LinuxHeaders.KVM_CREATE_DEVICE()),
    KVM_ENABLE_CAP(LinuxHeaders.KVM_ENABLE_CAP()),
    KVM_GET_CLOCK(LinuxHeaders.KVM_GET_CLOCK()),
    KVM_SET_CLOCK(LinuxHeaders.KVM_SET_CLOCK()),
    // Device
    KVM_SET_DEVICE_ATTR(LinuxHeaders.KVM_SET_DEVICE_ATTR()),
    KVM_GET_DEVICE_ATTR(LinuxHeaders.KVM_GET_DEVICE_ATTR()),
    KVM_HAS_DEVICE_ATTR(LinuxHeaders.KVM_HAS_DEVICE_ATTR()),
    // vCPU
    KVM_RUN(LinuxHeaders.KVM_RUN()),
    KVM_GET_REGS(LinuxHeaders.KVM_GET_REGS()),
    KVM_SET_REGS(LinuxHeaders.KVM_SET_REGS()),
    KVM_GET_SREGS(LinuxHeaders.KVM_GET_SREGS()),
    KVM_SET_SREGS(LinuxHeaders.KVM_SET_SREGS()),
    KVM_GET_FPU(LinuxHeaders.KVM_GET_FPU()),
    KVM_SET_FPU(LinuxHeaders.KVM_SET_FPU()),
    KVM_GET_MSRS(LinuxHeaders.KVM_GET_MSRS()),
    KVM_SET_MSRS(LinuxHeaders.KVM_SET_MSRS()),
    KVM_GET_CPUID2(LinuxHeaders.KVM_GET_CPUID2()),
    KVM_SET_CPUID2(LinuxHeaders.KVM_SET_CPUID2()),
    KVM_GET_LAPIC(LinuxHeaders.KVM_GET_LAPIC()),
    KVM_SET_LAPIC(LinuxHeaders.KVM_SET_LAPIC()),
    KVM_GET_VCPU_EVENTS(LinuxHeaders.KVM_GET_VCPU_EVENTS()),
    KVM_SET_VCPU_EVENTS(LinuxHeaders.KVM_SET_VCPU_EVENTS()),
    KVM_GET_MP_STATE(LinuxHeaders.KVM_GET_MP_STATE()),
    KVM_SET_MP_STATE(LinuxHeaders.KVM_SET_MP_STATE()),
    KVM_GET_XCRS(LinuxHeaders.KVM_GET_XCRS()),
    KVM_SET_XCRS(LinuxHeaders.KVM_SET_XCRS()),
    KVM_GET_XSAVE(LinuxHeaders.KVM_GET_XSAVE()),
    KVM_SET_XSAVE(LinuxHeaders.KVM_SET_XSAVE()),
    KVM_GET_DEBUGREGS(LinuxHeaders.KVM_GET_DEBUGREGS()),
    KVM_SET_DEBUGREGS(LinuxHeaders.KVM_SET_DEBUGREGS()),
    KVM_SET_GUEST_DEBUG(LinuxHeaders.KVM_SET_GUEST_DEBUG()),
    KVM_GET_ONE_REG(LinuxHeaders.KVM_GET_ONE_REG()),
    KVM_SET_ONE_REG(LinuxHeaders.KVM_SET_ONE_REG()),
    KVM_GET_REG_LIST(LinuxHeaders.KVM_GET_REG_LIST()),
    KVM_SET_SIGNAL_MASK(LinuxHeaders.KVM_SET_SIGNAL_MASK()),
    KVM_TRANSLATE(LinuxHeaders.KVM_TRANSLATE()),
    KVM_INTERRUPT(LinuxHeaders.KVM_INTERRUPT()),
    KVM_NMI(LinuxHeaders.KVM_NMI()),
    KVM_GET_TSC_KHZ(LinuxHeaders.KVM_GET_TSC_KHZ()),
    KVM_SET_TSC_KHZ(LinuxHeaders.KVM_SET_TSC_KHZ()),
    KVM_KVMCLOCK_CTRL(LinuxHeaders.KVM_KVMCLOCK_CTRL()),
    // aarch64 (numbers from the arm64 headers: the same names, other structures)
    KVM_ARM_PREFERRED_TARGET(Aarch64Headers.KVM_ARM_PREFERRED_TARGET()),
    KVM_ARM_VCPU_INIT(Aarch64Headers.KVM_ARM_VCPU_INIT());

    final long request;

    KvmIoctl(long request) {
        // The header spells some requests as negative ints (the direction bits are the top bits); ioctl takes
        // an unsigned long, so widen without sign extension.
        this.request = request & 0xffff_ffffL;
    }

    /** Issues this ioctl with a value argument; a failure throws a {@link KvmException}, with {@code hint}. */
    int call(int fd, long arg, String hint) {
        return check(NativeCall.ioctl(fd, request, arg), hint);
    }

    /** Issues this ioctl with a pointer argument; a failure throws a {@link KvmException}, with {@code hint}. */
    int call(int fd, MemorySegment arg, String hint) {
        return check(NativeCall.ioctl(fd, request, arg), hint);
    }

    /**
     * Issues this ioctl with a pointer argument; a failure throws a {@link KvmException} with the hint, which is made
     * only then: a hint formatted on every call would cost start-up a Formatter's first use for nothing.
     */
    int call(int fd, MemorySegment arg, Supplier<String> hint) {
        int result = NativeCall.ioctl(fd, request, arg);
        return result < 0 ? check(result, hint.get()) : result;
    }

    /** Issues this ioctl; returns the result, or {@code -errno} on failure, and allocates nothing. */
    int raw(int fd, long arg) {
        return NativeCall.ioctl(fd, request, arg);
    }

    /** Issues this ioctl with a pointer; returns the result, or {@code -errno} on failure. */
    int raw(int fd, MemorySegment arg) {
        return NativeCall.ioctl(fd, request, arg);
    }

    int call(int fd, long arg) {
        return call(fd, arg, "");
    }

    int call(int fd, MemorySegment arg) {
        return call(fd, arg, "");
    }

    int check(int result, String hint) {
        if (result < 0) {
            throw new KvmException(name(), -result, hint);
        }
        return result;
    }
}
