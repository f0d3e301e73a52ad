// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.kvm.bindings;

import java.util.Locale;

/**
 * The Linux system calls vmm4j makes through libc, by their number on this host, for {@link NativeCall#syscall}. Each
 * is the call glibc's own wrapper makes on x86_64 ({@code open} is {@code openat}, {@code eventfd} is
 * {@code eventfd2}, {@code send} is {@code sendto}), so a seccomp policy written from a trace of glibc holds for them
 * too. aarch64 has neither {@code epoll_wait} nor {@code poll}; {@link #exists()} says so, and callers use
 * {@code epoll_pwait} and {@code ppoll} there.
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
    TGKILL(234, 131),
    /** {@code read(fd, buffer, count)}. */
    READ(0, 63),
    /** {@code write(fd, buffer, count)}. */
    WRITE(1, 64),
    /** {@code pread64(fd, buffer, count, offset)}. */
    PREAD64(17, 67),
    /** {@code pwrite64(fd, buffer, count, offset)}. */
    PWRITE64(18, 68),
    /** {@code readv(fd, iov, iovcnt)}. */
    READV(19, 65),
    /** {@code writev(fd, iov, iovcnt)}. */
    WRITEV(20, 66),
    /** {@code fsync(fd)}. */
    FSYNC(74, 82),
    /** {@code flock(fd, operation)}. */
    FLOCK(73, 32),
    /** {@code lseek(fd, offset, whence)}. */
    LSEEK(8, 62),
    /** {@code fcntl(fd, command, argument)}. */
    FCNTL(72, 25),
    /** {@code ftruncate(fd, length)}. */
    FTRUNCATE(77, 46),
    /** {@code madvise(addr, length, advice)}. */
    MADVISE(28, 233),
    /** {@code memfd_create(name, flags)}. */
    MEMFD_CREATE(319, 279),
    /** {@code epoll_create1(flags)}. */
    EPOLL_CREATE1(291, 20),
    /** {@code epoll_ctl(epfd, op, fd, event)}. */
    EPOLL_CTL(233, 21),
    /** {@code epoll_wait(epfd, events, maxevents, timeout)}. aarch64 has only the {@code p} form. */
    EPOLL_WAIT(232, Absent.NUMBER),
    /** {@code epoll_pwait(epfd, events, maxevents, timeout, sigmask, sigsetsize)}. */
    EPOLL_PWAIT(281, 22),
    /** {@code poll(fds, nfds, timeout)}. aarch64 has only the {@code p} form. */
    POLL(7, Absent.NUMBER),
    /** {@code ppoll(fds, nfds, timeout, sigmask, sigsetsize)}. */
    PPOLL(271, 73),
    /** {@code recvmsg(fd, message, flags)}. */
    RECVMSG(47, 212),
    /** {@code sendmsg(fd, message, flags)}. */
    SENDMSG(46, 211),
    /** {@code sendto(fd, buffer, length, flags, address, addrlen)}. */
    SENDTO(44, 206),
    /** {@code socket(domain, type, protocol)}. */
    SOCKET(41, 198),
    /** {@code socketpair(domain, type, protocol, fds)}. */
    SOCKETPAIR(53, 199),
    /** {@code bind(fd, address, addrlen)}. */
    BIND(49, 200),
    /** {@code listen(fd, backlog)}. */
    LISTEN(50, 201),
    /** {@code accept4(fd, address, addrlen, flags)}. */
    ACCEPT4(288, 242),
    /** {@code connect(fd, address, addrlen)}. */
    CONNECT(42, 203),
    /** {@code shutdown(fd, how)}. */
    SHUTDOWN(48, 210),
    /** {@code setns(fd, nstype)}. */
    SETNS(308, 268),
    /** {@code timerfd_create(clockid, flags)}. */
    TIMERFD_CREATE(283, 85),
    /** {@code timerfd_settime(fd, flags, new, old)}. */
    TIMERFD_SETTIME(286, 86),
    /** {@code prctl(option, arg2, arg3, arg4, arg5)}. */
    PRCTL(157, 167),
    /** {@code seccomp(operation, flags, args)}. */
    SECCOMP(317, 277),
    /** {@code landlock_create_ruleset(attr, size, flags)}. */
    LANDLOCK_CREATE_RULESET(444, 444),
    /** {@code landlock_add_rule(ruleset_fd, rule_type, rule_attr, flags)}. */
    LANDLOCK_ADD_RULE(445, 445),
    /** {@code landlock_restrict_self(ruleset_fd, flags)}. */
    LANDLOCK_RESTRICT_SELF(446, 446),
    /** {@code openat2(dirfd, path, how, size)}. */
    OPENAT2(437, 437),
    /** {@code newfstatat(dirfd, path, stat, flags)}, what glibc's {@code fstatat} makes. */
    NEWFSTATAT(262, 79),
    /** {@code mkdirat(dirfd, path, mode)}. */
    MKDIRAT(258, 34),
    /** {@code mknodat(dirfd, path, mode, dev)}. */
    MKNODAT(259, 33),
    /** {@code symlinkat(target, dirfd, path)}. */
    SYMLINKAT(266, 36),
    /** {@code linkat(olddirfd, oldpath, newdirfd, newpath, flags)}. */
    LINKAT(265, 37),
    /** {@code renameat(olddirfd, oldpath, newdirfd, newpath)}. */
    RENAMEAT(264, 38),
    /** {@code unlinkat(dirfd, path, flags)}. */
    UNLINKAT(263, 35),
    /** {@code readlinkat(dirfd, path, buffer, size)}. */
    READLINKAT(267, 78),
    /** {@code fchownat(dirfd, path, uid, gid, flags)}. */
    FCHOWNAT(260, 54),
    /** {@code fchmodat(dirfd, path, mode)}. */
    FCHMODAT(268, 53),
    /** {@code utimensat(dirfd, path, times, flags)}. */
    UTIMENSAT(280, 88),
    /** {@code fstatfs(fd, statfs)}. */
    FSTATFS(138, 44),
    /** {@code getdents64(fd, buffer, count)}. */
    GETDENTS64(217, 61),
    /** {@code fdatasync(fd)}. */
    FDATASYNC(75, 83);

    private final int x86_64;
    private final int aarch64;

    Syscall(int x86_64, int aarch64) {
        this.x86_64 = x86_64;
        this.aarch64 = aarch64;
    }

    /** {@return whether this host has the call} On x86_64 all do; on aarch64 all but {@link #EPOLL_WAIT} and {@link #POLL}. */
    public boolean exists() {
        return Host.ARCH != Host.OTHER && numberOn(Host.ARCH) != Absent.NUMBER;
    }

    /**
     * {@return the call's number on this host}
     *
     * @throws UnsupportedOperationException on a host that is neither x86_64 nor aarch64 (riscv64's or ppc64le's
     *     numbers differ from both, and a wrong number would make some other call), or for a call this host does not
     *     have ({@link #exists()})
     */
    public long number() {
        if (Host.ARCH == Host.OTHER) {
            throw new UnsupportedOperationException(
                    "vmm4j knows the system call numbers of x86_64 and aarch64, not of " + Host.OS_ARCH);
        }
        long number = numberOn(Host.ARCH);
        if (number == Absent.NUMBER) {
            throw new UnsupportedOperationException(
                    name().toLowerCase(Locale.ROOT) + " does not exist on " + Host.OS_ARCH);
        }
        return number;
    }

    /**
     * {@return the call's number on {@code osArch}, or -1 where that architecture does not have it}
     *
     * @param osArch a value of the {@code os.arch} property: {@code amd64} or {@code aarch64}
     * @throws IllegalArgumentException for any other architecture
     */
    public long number(String osArch) {
        int arch = Host.of(osArch);
        if (arch == Host.OTHER) {
            throw new IllegalArgumentException("no system call numbers for " + osArch);
        }
        return numberOn(arch);
    }

    private long numberOn(int arch) {
        return arch == Host.AARCH64 ? aarch64 : x86_64;
    }

    /** This host's architecture, found once: an int to switch on for every call, KVM_RUN's included. */
    private static final class Host {
        static final int X86_64 = 0;
        static final int AARCH64 = 1;
        static final int OTHER = 2;
        static final String OS_ARCH = System.getProperty("os.arch");
        static final int ARCH = of(OS_ARCH);

        /** {@return the architecture a value of {@code os.arch} names} */
        static int of(String osArch) {
            return switch (osArch) {
                case "amd64", "x86_64" -> X86_64;
                case "aarch64" -> AARCH64;
                default -> OTHER;
            };
        }
    }

    /** The number given for a call an architecture does not have. */
    private static final class Absent {
        static final int NUMBER = -1;
    }
}
