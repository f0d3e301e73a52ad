// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.CLONE_NEWNET;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.CLONE_NEWUSER;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.CLONE_THREAD;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.ENOSYS;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.TUNSETOFFLOAD;

/**
 * The policies {@link SyscallPolicy} offers, and why each call is in them. The JVM's list was found by tracing
 * Temurin 25 (G1 and Serial GC) with {@code strace -f} while it ran threads, virtual threads, GCs, JIT compilations,
 * FFM downcalls, epoll and eventfd, FileChannel reads and unix-socket NIO, keeping only what it called after start-up;
 * then confirmed by running the same work under the filter (JailedJvmTest).
 */
final class StandardPolicies {
    /** {@code PR_SET_NAME} from {@code <linux/prctl.h>}: HotSpot names every thread it starts. */
    private static final long PR_SET_NAME = 15;

    /**
     * Namespace flags of {@code clone} ({@code <linux/sched.h>}) beyond the two the bindings carry: a thread must not
     * ask for new namespaces.
     */
    private static final long CLONE_NEWNS = 0x0002_0000L;

    private static final long CLONE_NEWCGROUP = 0x0200_0000L;
    private static final long CLONE_NEWUTS = 0x0400_0000L;
    private static final long CLONE_NEWIPC = 0x0800_0000L;
    private static final long CLONE_NEWPID = 0x2000_0000L;
    private static final long CLONE_NEW_ANY = CLONE_NEWNS
            | CLONE_NEWCGROUP
            | CLONE_NEWUTS
            | CLONE_NEWIPC
            | CLONE_NEWUSER()
            | CLONE_NEWPID
            | CLONE_NEWNET();

    private StandardPolicies() {}

    static SyscallPolicy jvm(long pid) {
        return SyscallPolicy.builder("jvm")
                // Locks, parking, safepoints and GC handshakes: by far the most frequent call, so tested first.
                .allow("futex")
                // I/O on fds already held: classes from open jars and the module image (pread64), stdout and stderr,
                // files opened before the filter, eventfds, the unix socket to the parent (NIO uses read/write on
                // sockets too), and fds received over it (recvmsg with SCM_RIGHTS).
                .allow("read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev")
                .allow("lseek", "close", "fcntl", "dup", "dup3", "sendmsg", "recvmsg")
                // Event loops: vmm4j's EventLoop and NIO selectors (epoll, eventfd wake-ups), the virtual-thread
                // pollers (which make their epoll fds lazily), timers, and NIO's blocking waits (poll).
                .allow("epoll_wait", "epoll_ctl", "epoll_create1", "eventfd2")
                .allow("timerfd_create", "timerfd_settime", "timerfd_gettime", "poll")
                // Memory: heap growth and uncommit, code cache, thread stacks and guard pages, malloc (FFM arenas),
                // mapping guest memory from its memfd.
                .allow("mmap", "munmap", "mprotect", "madvise", "mremap", "brk")
                // Time: mostly answered by the vDSO; these are the fallbacks and the sleeps (glibc's nanosleep is
                // clock_nanosleep).
                .allow("clock_gettime", "clock_getres", "clock_nanosleep")
                // Threads. pthread_create tries clone3 first, whose flags are in memory a filter cannot read: ENOSYS
                // makes glibc fall back to clone, allowed only to start a thread (no fork, no new namespaces).
                .allowIfMaskedEquals("clone", 0, CLONE_THREAD() | CLONE_NEW_ANY, CLONE_THREAD())
                .fail("clone3", ENOSYS())
                // glibc's set-up and tear-down of each thread, HotSpot's thread names and CPU-count queries.
                .allow("set_robust_list", "rseq", "exit", "exit_group", "gettid", "getpid")
                .allow("sched_getaffinity", "sched_yield")
                .allowIf("prctl", 0, PR_SET_NAME)
                // Signals. HotSpot's implicit null checks and safepoint polls are SIGSEGVs whose handlers return
                // through rt_sigreturn; an interrupted sleep resumes through restart_syscall; NIO installs a handler
                // on first use; a signal goes only to a thread of this process (tgkill with tgid == our pid).
                .allow("rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "restart_syscall")
                .allowIf("tgkill", 0, pid)
                // Facts about held fds and the system: glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH) (which
                // cannot be told from a stat of a path: seccomp sees no strings, so a path's metadata is readable),
                // G1's per-thread CPU times (getrusage), memory and limit queries, and entropy.
                .allow("fstat", "newfstatat", "statx", "getrusage", "sysinfo", "uname", "prlimit64", "getrandom")
                .build();
    }

    static SyscallPolicy blockDevice() {
        // Flush requests, discard/write-zeroes (fallocate with punch-hole or zero-range), and resizing the image.
        return SyscallPolicy.builder("block-device")
                .allow("fdatasync", "fsync", "fallocate", "ftruncate")
                .build();
    }

    static SyscallPolicy networkDevice() {
        // Frames move with readv/writev on the tap fd (in jvm()); when the driver acks its features the device sets
        // the tap's offloads to match, on the tap fd it holds.
        return SyscallPolicy.builder("network-device")
                .allowIf("ioctl", 1, TUNSETOFFLOAD())
                .build();
    }

    static SyscallPolicy vsockDevice() {
        // The VMM owns the unix socket and connects to <path>_<port> for the device (VsockBroker), passing the fds
        // over: the device accepts host connections on the listening socket it was given (accept4), moves data
        // (sendto/recvfrom), reads socket errors (getsockopt SO_ERROR), shuts connections down, and runs the muxer's
        // credit and retransmit timer. It creates no socket and connects nowhere itself.
        return SyscallPolicy.builder("vsock-device")
                .allow("accept4", "shutdown", "sendto", "recvfrom", "getsockopt")
                .allow("timerfd_create", "timerfd_settime", "timerfd_gettime")
                .build();
    }

    static SyscallPolicy sharedDirectory() {
        // The 9P2000.L server (virtio/p9/P9Server, P9Native): every path is resolved below the shared root's fd with
        // openat2(RESOLVE_BENEATH) or re-opened through /proc/self/fd with openat; then the *at calls change the
        // tree; getdents64 reads directories; fstatfs answers statfs; fsync/fdatasync/ftruncate serve Tfsync and
        // Tsetattr.
        return SyscallPolicy.builder("shared-directory")
                .allow("openat2", "openat", "newfstatat", "getdents64", "fstatfs", "readlinkat")
                .allow("mkdirat", "mknodat", "symlinkat", "linkat", "renameat", "renameat2", "unlinkat")
                .allow("fchownat", "fchmodat", "utimensat", "ftruncate", "fsync", "fdatasync")
                .build();
    }

    static SyscallPolicy balloon() {
        // Inflating gives pages back with madvise(MADV_DONTNEED or MADV_REMOVE), which jvm() allows.
        return SyscallPolicy.builder("balloon").build();
    }

    static SyscallPolicy entropy() {
        // The device answers from SecureRandom: getrandom, or reads of a /dev/urandom fd opened before the filter.
        return SyscallPolicy.builder("entropy").allow("getrandom").build();
    }
}
