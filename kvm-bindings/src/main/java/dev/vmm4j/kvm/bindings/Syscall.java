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
    /** {@code getpid()}. */
    GETPID(39, 172),
    /** {@code tgkill(tgid, tid, signal)}. */
    TGKILL(234, 131);

    private static final boolean AARCH64 = "aarch64".equals(System.getProperty("os.arch"));

    private final int x86_64;
    private final int aarch64;

    Syscall(int x86_64, int aarch64) {
        this.x86_64 = x86_64;
        this.aarch64 = aarch64;
    }

    /** {@return the call's number on this host: aarch64's (the generic table) there, else x86_64's} */
    public long number() {
        return AARCH64 ? aarch64 : x86_64;
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
}
