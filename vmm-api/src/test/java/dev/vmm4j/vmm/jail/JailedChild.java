// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.AF_INET;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.AF_UNIX;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.AT_FDCWD;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.CLONE_NEWUSER;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.KVM_GET_API_VERSION;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.O_RDONLY;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.SCM_RIGHTS;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.SOCK_STREAM;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.SOL_SOCKET;

import dev.vmm4j.kvm.bindings.Errno;
import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.cmsghdr;
import dev.vmm4j.kvm.bindings.iovec;
import dev.vmm4j.kvm.bindings.msghdr;
import dev.vmm4j.vmm.event.Event;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.event.EventOps;
import dev.vmm4j.vmm.event.EventSet;
import dev.vmm4j.vmm.event.EventSubscriber;
import dev.vmm4j.vmm.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The child JVM of {@link JailedJvmTest}: does a device process's kinds of work, installs a filter, does them again,
 * then tries each call the filter must refuse and prints what it got ({@code probe <call> <errno name or ok>}).
 *
 * <p>Arguments: the policy ({@code jvm} or {@code unix-sockets}, the latter adding {@code socket(AF_UNIX)}), a
 * file to read through a channel opened before the filter, and the parent's pid.
 */
final class JailedChild {
    private static final AtomicLong SINK = new AtomicLong();

    private JailedChild() {}

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        long parentPid = Long.parseLong(args[2]);
        try (FileChannel channel = FileChannel.open(Path.of(args[1]))) {
            int[] pair = Libc.socketpair(SOCK_STREAM());
            // Everything done after the filter is done once before it: classes that come from a class-path directory
            // are files to open, which the filter refuses afterwards. (Jars and the module image are open fds.)
            work(channel, pair, 1);
            probes(parentPid, false);
            Errno.name(1);
            SyscallPolicy policy = mode.equals("unix-sockets")
                    ? SyscallPolicy.jvm()
                            .with(SyscallPolicy.builder("unix-sockets")
                                    .allowIf("socket", 0, AF_UNIX())
                                    .build())
                    : SyscallPolicy.jvm();
            SeccompFilter filter = SeccompFilter.compile(policy);
            filter.install();
            System.out.println("installed " + filter);
            work(channel, pair, 2);
            probes(parentPid, true);
        }
        System.out.println("done");
    }

    private static void work(FileChannel channel, int[] pair, int round) throws Exception {
        // Platform threads, then virtual threads (their carriers and the timer that wakes sleeping ones).
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            threads.add(Thread.ofPlatform().name("worker-" + round + "-" + i).start(() -> SINK.addAndGet(1)));
        }
        for (int i = 0; i < 200; i++) {
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                SINK.addAndGet(1);
            }));
        }
        for (Thread thread : threads) {
            thread.join();
        }

        // Garbage until the collector has run three times (a weakly held object is gone after a GC), then an
        // explicit full GC.
        int gcs = 0;
        for (int i = 0; i < 3; i++) {
            gcs += collectGarbage();
        }
        System.gc();

        // A hot loop, long enough for C1 and C2; the parent looks for its compilation in -XX:+PrintCompilation's
        // output. Before the filter the loop runs in another method, so that this one is compiled under the filter.
        long hot = 0;
        for (int i = 0; i < 20_000; i++) {
            hot += round == 1 ? hotBeforeFilter(i) : hotAfterFilter(i);
        }
        SINK.addAndGet(hot);

        // A file opened before the filter.
        ByteBuffer buffer = ByteBuffer.allocate(64);
        int read = channel.read(buffer, 0);
        String text = new String(buffer.array(), 0, read, StandardCharsets.UTF_8);

        // vmm4j's event loop on an eventfd: a new epoll fd, a new eventfd, a new thread.
        long events = eventLoopRoundTrip();

        // An eventfd passed over a unix socket with SCM_RIGHTS, as the parent hands a child its queue eventfds.
        boolean passed = passFd(pair);

        System.out.printf(
                "work %d gcs=%d file=%s events=%d fdPassed=%b threads=%d%n",
                round, gcs, text.strip(), events, passed, Thread.activeCount());
    }

    private static long hotBeforeFilter(int seed) {
        long x = seed;
        for (int i = 0; i < 1000; i++) {
            x = x * 31 + i + (x >>> 7);
        }
        return x;
    }

    private static long hotAfterFilter(int seed) {
        long x = seed;
        for (int i = 0; i < 1000; i++) {
            x = x * 37 + i + (x >>> 5);
        }
        return x;
    }

    /** Allocates until a GC has run. {@return 1} */
    private static int collectGarbage() {
        WeakReference<Object> canary = new WeakReference<>(new Object());
        List<byte[]> kept = new ArrayList<>();
        while (canary.get() != null) {
            kept.add(new byte[16 * 1024]);
            if (kept.size() > 4000) {
                kept.clear();
            }
        }
        return 1;
    }

    private static long eventLoopRoundTrip() throws InterruptedException {
        CountDownLatch seen = new CountDownLatch(1);
        AtomicLong value = new AtomicLong();
        try (EventLoop loop = EventLoop.create("jailed-loop");
                EventFd eventFd = EventFd.create()) {
            loop.addSubscriber(new EventSubscriber() {
                @Override
                public void init(EventOps ops) {
                    ops.add(eventFd.fd(), EventSet.IN, 7);
                }

                @Override
                public void process(Event event, EventOps ops) {
                    value.set(eventFd.read());
                    seen.countDown();
                }
            });
            loop.start();
            eventFd.write(42);
            if (!seen.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the event loop saw no event");
            }
        }
        return value.get();
    }

    /** Sends a new eventfd from {@code pair[0]} to {@code pair[1]} with SCM_RIGHTS; checks the received one works. */
    private static boolean passFd(int[] pair) {
        try (Arena arena = Arena.ofConfined();
                EventFd sent = EventFd.create()) {
            MemorySegment payload = arena.allocate(1);
            MemorySegment iov = iovec.allocate(arena);
            iovec.iov_base(iov, payload);
            iovec.iov_len(iov, 1);
            long controlSize = cmsghdr.sizeof() + 8; // CMSG_SPACE(sizeof(int))
            MemorySegment control = arena.allocate(controlSize, 8);
            cmsghdr.cmsg_len(control, cmsghdr.sizeof() + Integer.BYTES);
            cmsghdr.cmsg_level(control, SOL_SOCKET());
            cmsghdr.cmsg_type(control, SCM_RIGHTS());
            control.set(ValueLayout.JAVA_INT, cmsghdr.sizeof(), sent.fd());
            MemorySegment message = msghdr.allocate(arena);
            msghdr.msg_iov(message, iov);
            msghdr.msg_iovlen(message, 1);
            msghdr.msg_control(message, control);
            msghdr.msg_controllen(message, controlSize);
            check("sendmsg", RawSyscall.call(LinuxHeaders.SYS_sendmsg(), pair[0], message.address(), 0));

            MemorySegment received = arena.allocate(controlSize, 8);
            msghdr.msg_control(message, received);
            msghdr.msg_controllen(message, controlSize);
            check("recvmsg", Libc.recvmsg(pair[1], message, 0));
            int fd = received.get(ValueLayout.JAVA_INT, cmsghdr.sizeof());
            MemorySegment one = arena.allocateFrom(ValueLayout.JAVA_LONG, 5);
            check("write received eventfd", Libc.write(fd, one));
            Libc.close(fd);
            return sent.read() == 5;
        }
    }

    private static void check(String what, long result) {
        if (result < 0) {
            throw new IllegalStateException(what + " failed: " + Errno.describe((int) -result));
        }
    }

    /** Tries each call; before the filter ({@code report} false) only to load and link everything they use. */
    private static void probes(long parentPid, boolean report) {
        if (!report) {
            // Before the filter only the harmless ones run: the rest would succeed, as this test runs as any user.
            probe(false, "getpid", LinuxHeaders.SYS_getpid());
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            long passwd = arena.allocateFrom("/etc/passwd").address();
            long trueBinary = arena.allocateFrom("/bin/true").address();
            MemorySegment argv = arena.allocate(ValueLayout.ADDRESS, 2);
            argv.setAtIndex(ValueLayout.JAVA_LONG, 0, trueBinary);
            long none = arena.allocateFrom("none").address();
            long nowhere = arena.allocateFrom("/nonexistent-vmm4j-mount-point").address();
            long tmpfs = arena.allocateFrom("tmpfs").address();
            long pid = ProcessHandle.current().pid();
            long tid = RawSyscall.call(LinuxHeaders.SYS_gettid());

            probe(true, "openat /etc/passwd", LinuxHeaders.SYS_openat(), AT_FDCWD(), passwd, O_RDONLY());
            probe(true, "open /etc/passwd", LinuxHeaders.SYS_open(), passwd, O_RDONLY());
            probe(true, "socket AF_INET", LinuxHeaders.SYS_socket(), AF_INET(), SOCK_STREAM(), 0);
            probe(true, "socket AF_UNIX", LinuxHeaders.SYS_socket(), AF_UNIX(), SOCK_STREAM(), 0);
            probe(true, "execve /bin/true", LinuxHeaders.SYS_execve(), trueBinary, argv.address(), 0);
            // PTRACE_SEIZE (0x4206) rather than PTRACE_ATTACH: were the filter broken, attach would stop the
            // parent, the test runner itself; the filter decides on the syscall number alone either way.
            probe(true, "ptrace parent", LinuxHeaders.SYS_ptrace(), 0x4206, parentPid, 0, 0);
            probe(true, "mount", LinuxHeaders.SYS_mount(), none, nowhere, tmpfs, 0, 0);
            // Bad flags, so that a broken filter could not unload or load a kexec kernel.
            probe(true, "kexec_load", LinuxHeaders.SYS_kexec_load(), 0, 0, 0, 0xdead_0000L);
            probe(true, "bpf", LinuxHeaders.SYS_bpf(), 5 /* BPF_PROG_LOAD */, 0, 0);
            probe(true, "perf_event_open", LinuxHeaders.SYS_perf_event_open(), 0, 0, -1, -1, 0);
            probe(true, "userfaultfd", LinuxHeaders.SYS_userfaultfd(), 0);
            probe(true, "ioctl KVM_GET_API_VERSION", LinuxHeaders.SYS_ioctl(), 0, KVM_GET_API_VERSION(), 0);
            probe(true, "fork", LinuxHeaders.SYS_clone(), 17 /* SIGCHLD */, 0, 0, 0, 0);
            probe(true, "clone3", LinuxHeaders.SYS_clone3(), 0, 0);
            probe(true, "kill parent", LinuxHeaders.SYS_kill(), parentPid, 0);
            probe(true, "tgkill parent", LinuxHeaders.SYS_tgkill(), parentPid, parentPid, 0);
            probe(true, "tgkill own thread", LinuxHeaders.SYS_tgkill(), pid, tid, 0);
            probe(true, "unshare", LinuxHeaders.SYS_unshare(), CLONE_NEWUSER());
            probe(true, "setns", LinuxHeaders.SYS_setns(), -1, 0);
            probe(true, "prctl PR_SET_SECCOMP", LinuxHeaders.SYS_prctl(), 22, 0, 0, 0, 0);
            probe(
                    true,
                    "prctl PR_SET_NAME",
                    LinuxHeaders.SYS_prctl(),
                    15,
                    arena.allocateFrom("jailed").address());
        }
    }

    private static void probe(boolean report, String name, int nr, long... args) {
        long result = RawSyscall.call(nr, args);
        if (name.equals("fork") && result == 0) {
            RawSyscall.call(LinuxHeaders.SYS_exit_group(), 0); // a forked child of a broken filter: leave at once
        }
        if (result >= 0 && (name.startsWith("socket") || name.startsWith("open") || name.equals("userfaultfd"))) {
            Libc.close((int) result);
        }
        if (report) {
            System.out.println("probe " + name + " " + (result >= 0 ? "ok" : Errno.name((int) -result)));
        }
    }
}
