// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.kvm.bindings;

/**
 * The Linux system calls that every VM makes, by their number on this host, for {@link NativeCall#syscall}. Each is
 * the call glibc's own wrapper makes ({@code open} is {@code openat}, {@code eventfd} is {@code eventfd2}), so a
 * seccomp policy written from a trace of glibc holds for them too.
 *
 * <p>Why not glibc's wrappers: every distinct C signature costs the JVM a downcall stub and its method-handle adapters
 * at first use, 3 to 10 ms each, which an AOT cache of JDK 25 does not keep; these calls share one signature, libc's
 * {@code long syscall(long number, ...)}, and so one stub.
 */
public enum Syscall {
    /** {@code ioctl(fd, request, arg)}. */
    IOCTL(16, 29),
    /** {@code openat(dirfd, path, flags, mode)}. */
    OPENAT(257, 56),
    /** {@code close(fd)}. */
    CLOSE(3, 57),
    /** {@code mmap(addr, length, prot, flags, fd, offset)}. */
    MMAP(9, 222),
    /** {@code munmap(addr, length)}. */
    MUNMAP(11, 215),
    /** {@code eventfd2(initval, flags)}. */
    EVENTFD2(290, 19),
    /** {@code rt_sigtimedwait(set, info, timeout, sigsetsize)}. */
    RT_SIGTIMEDWAIT(128, 137),
    /** {@code rt_sigprocmask(how, set, oldset, sigsetsize)}. */
    RT_SIGPROCMASK(14, 135),
    /** {@code gettid()}. */
    GETTID(186, 178),
    /** {@code tgkill(tgid, tid, signal)}. */
    TGKILL(234, 131);

    private final int x86_64;
    private final int aarch64;

    Syscall(int x86_64, int aarch64) {
        this.x86_64 = x86_64;
        this.aarch64 = aarch64;
    }

    /**
     * {@return the call's number on this host}
     *
     * @throws UnsupportedOperationException on a host that is neither x86_64 nor aarch64 (riscv64's or ppc64le's
     *     numbers differ from both, and a wrong number would make some other call)
     */
    public long number() {
        return switch (Host.ARCH) {
            case Host.X86_64 -> x86_64;
            case Host.AARCH64 -> aarch64;
            default ->
                throw new UnsupportedOperationException(
                        "vmm4j knows the system call numbers of x86_64 and aarch64, not of " + Host.OS_ARCH);
        };
    }

    /**
     * {@return the call's number on {@code osArch}}
     *
     * @param osArch a value of the {@code os.arch} property: {@code amd64} or {@code aarch64}
     * @throws IllegalArgumentException for any other architecture
     */
    public long number(String osArch) {
        return switch (osArch) {
            case "amd64", "x86_64" -> x86_64;
            case "aarch64" -> aarch64;
            default -> throw new IllegalArgumentException("no system call numbers for " + osArch);
        };
    }

    /** This host's architecture, found once: an int to switch on for every call, KVM_RUN's included. */
    private static final class Host {
        static final int X86_64 = 0;
        static final int AARCH64 = 1;
        static final int OTHER = 2;
        static final String OS_ARCH = System.getProperty("os.arch");
        static final int ARCH = switch (OS_ARCH) {
            case "amd64", "x86_64" -> X86_64;
            case "aarch64" -> AARCH64;
            default -> OTHER;
        };
    }
}
