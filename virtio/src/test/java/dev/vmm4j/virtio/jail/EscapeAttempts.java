// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.jail;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.*;

import dev.vmm4j.virtio.ActivationException;
import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.virtio.QueueHandler;
import dev.vmm4j.virtio.ServedQueues;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.vmm.jail.DeviceControl;
import dev.vmm4j.vmm.jail.SyscallPolicy;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A test-only device that, in its device process, tries what a compromised device would: each attempt is a control
 * call whose answer is the system call's result or {@code -errno}. It is an entropy device to the guest (it answers
 * with 0x5a bytes), so the guest kit's virtio guest drives it.
 */
public final class EscapeAttempts implements JailedDeviceFactory {
    static final int OPEN_PASSWD = 1;
    static final int SOCKET_INET = 2;
    static final int SOCKET_UNIX = 3;
    static final int EXECVE = 4;
    static final int PTRACE_VMM = 5;
    static final int MOUNT = 6;
    static final int KVM_IOCTL_ON_ANY_FD = 7;
    static final int KEXEC_LOAD = 8;
    static final int BPF = 9;
    static final int PERF_EVENT_OPEN = 10;
    static final int USERFAULTFD = 11;
    static final int FORK = 12;
    static final int SIGNAL_VMM = 13;
    static final int WRITE_PAST_GUEST_MEMORY = 14;
    static final int CRASH = 15;
    static final int KVM_FDS_AT_START = 16;
    static final int STRAY_FDS_AT_START = 17;
    static final int OPEN_DEV_KVM = 18;
    static final int FDS_AT_START = 19;
    static final int HANG = 20;
    static final int CONNECT_UNIX_SOCKET = 21;
    static final int OPEN_IN_SHARE = 22;
    static final int OPEN_CLASS_PATH = 23;

    /** {@return the recipe; {@code vmmPid} is the VMM's pid, which the device tries to ptrace and signal} */
    static DeviceRecipe recipe(long vmmPid) {
        return DeviceRecipe.of(EscapeAttempts.class, "virtio-rng").with("vmmPid", Long.toString(vmmPid));
    }

    /**
     * {@return a recipe whose device has the syscall policy of vmm4j's {@code policy} device ("vsock", or
     * "shared-directory" with {@code share} read-write, as a 9p device's jail has it), to attack that policy}
     */
    static DeviceRecipe recipe(long vmmPid, String policy, Path share) {
        DeviceRecipe recipe = recipe(vmmPid).with("policy", policy);
        return share == null ? recipe : recipe.with("share", share.toString()).withReadWrite(share);
    }

    private long vmmPid;
    private Path share;
    private final List<String> startFds = new ArrayList<>();

    /** For the device process. */
    public EscapeAttempts() {}

    @Override
    public VirtioDevice create(DeviceRecipe recipe) throws IOException {
        vmmPid = Long.parseLong(recipe.required("vmmPid"));
        share = recipe.setting("share").map(Path::of).orElse(null);
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    startFds.add(fd.getFileName() + " " + Files.readSymbolicLink(fd));
                } catch (IOException e) {
                    // the fd of the listing itself, closed by now
                }
            }
        }
        return new PatternRng();
    }

    @Override
    public SyscallPolicy policy(DeviceRecipe recipe) {
        return switch (recipe.setting("policy").orElse("entropy")) {
            case "vsock" -> SyscallPolicy.vsockDevice();
            case "shared-directory" -> SyscallPolicy.sharedDirectory();
            default -> SyscallPolicy.entropy();
        };
    }

    @Override
    public boolean needsLandlock() {
        return share != null;
    }

    @Override
    public Optional<DeviceControl> control(VirtioDevice device) {
        PatternRng rng = (PatternRng) device;
        return Optional.of((selector, argument) -> attempt(selector, rng));
    }

    private long attempt(int selector, PatternRng rng) {
        try (Arena arena = Arena.ofConfined()) {
            return switch (selector) {
                case OPEN_PASSWD ->
                    RawSyscalls.call(SYS_openat(), AT_FDCWD(), RawSyscalls.string(arena, "/etc/passwd"), O_RDONLY());
                case OPEN_DEV_KVM ->
                    RawSyscalls.call(SYS_openat(), AT_FDCWD(), RawSyscalls.string(arena, "/dev/kvm"), O_RDWR());
                case SOCKET_INET -> RawSyscalls.call(SYS_socket(), AF_INET(), SOCK_STREAM(), 0);
                case SOCKET_UNIX -> RawSyscalls.call(SYS_socket(), AF_UNIX(), SOCK_STREAM(), 0);
                case EXECVE -> {
                    MemorySegment argv = arena.allocate(ValueLayout.ADDRESS, 2);
                    argv.setAtIndex(ValueLayout.ADDRESS, 0, arena.allocateFrom("/bin/true"));
                    yield RawSyscalls.call(SYS_execve(), RawSyscalls.string(arena, "/bin/true"), argv.address(), 0);
                }
                case PTRACE_VMM -> RawSyscalls.call(SYS_ptrace(), 16 /* PTRACE_ATTACH */, vmmPid, 0, 0);
                case MOUNT ->
                    RawSyscalls.call(
                            SYS_mount(),
                            RawSyscalls.string(arena, "none"),
                            RawSyscalls.string(arena, "/tmp"),
                            RawSyscalls.string(arena, "tmpfs"),
                            0,
                            0);
                case KVM_IOCTL_ON_ANY_FD -> {
                    long worst = -EPERM();
                    for (int fd = 0; fd < 256; fd++) {
                        long result = RawSyscalls.call(SYS_ioctl(), fd, KVM_GET_API_VERSION());
                        if (result != -EPERM()) {
                            worst = result;
                        }
                    }
                    yield worst;
                }
                case KEXEC_LOAD -> RawSyscalls.call(SYS_kexec_load(), 0, 0, 0, 0);
                case BPF -> RawSyscalls.call(SYS_bpf(), 0 /* BPF_MAP_CREATE */, 0, 0);
                case PERF_EVENT_OPEN -> RawSyscalls.call(SYS_perf_event_open(), 0, 0, -1, -1, 0);
                case USERFAULTFD -> RawSyscalls.call(SYS_userfaultfd(), 0);
                case FORK -> RawSyscalls.call(SYS_clone(), 17 /* SIGCHLD: a fork, no thread */, 0, 0, 0, 0);
                case SIGNAL_VMM -> RawSyscalls.call(SYS_kill(), vmmPid, 0);
                case WRITE_PAST_GUEST_MEMORY -> {
                    GuestMemory memory = rng.memory();
                    try {
                        memory.putByte(memory.totalSize() + (1L << 30), (byte) 1);
                        yield 0;
                    } catch (GuestMemoryException e) {
                        yield -1;
                    }
                }
                case CRASH -> {
                    MemorySegment.ofAddress(16).reinterpret(8).set(ValueLayout.JAVA_LONG, 0, 0x5a5aL);
                    yield 0;
                }
                case KVM_FDS_AT_START ->
                    startFds.stream()
                            .map(fd -> fd.substring(fd.indexOf(' ') + 1))
                            .filter(link -> link.equals("/dev/kvm") || link.startsWith("anon_inode:kvm"))
                            .count();
                case STRAY_FDS_AT_START ->
                    startFds.stream().filter(fd -> !expected(fd)).count()
                            + Math.max(
                                    0,
                                    startFds.stream()
                                                    .filter(fd -> fd.contains(" socket:"))
                                                    .count()
                                            - 1);
                case FDS_AT_START -> startFds.size();
                case CONNECT_UNIX_SOCKET -> {
                    long fd = RawSyscalls.call(SYS_socket(), AF_UNIX(), SOCK_STREAM(), 0);
                    yield fd < 0 ? fd : -1000; // a socket was made: the attack went further than it may
                }
                case OPEN_CLASS_PATH -> {
                    // In the jail (bound for the JVM) but not among the device's Landlock paths.
                    String entry = System.getProperty("java.class.path").split(java.io.File.pathSeparator)[0];
                    long fd = RawSyscalls.call(SYS_openat(), AT_FDCWD(), RawSyscalls.string(arena, entry), O_RDONLY());
                    yield fd < 0 ? fd : 0;
                }
                case OPEN_IN_SHARE -> {
                    long fd = RawSyscalls.call(
                            SYS_openat(),
                            AT_FDCWD(),
                            RawSyscalls.string(
                                    arena, share.resolve("inside.txt").toString()),
                            O_RDONLY());
                    if (fd >= 0) {
                        RawSyscalls.call(SYS_close(), fd);
                    }
                    yield fd < 0 ? fd : 0;
                }
                case HANG -> {
                    // The proxy's thread stops answering, as a device stuck in a loop or a lock would.
                    while (true) {
                        java.util.concurrent.locks.LockSupport.park();
                    }
                }
                default -> throw new IllegalArgumentException("no attempt " + selector);
            };
        }
    }

    /**
     * {@return whether a device process may hold {@code fd} (its number and link) when it makes its device} Its
     * standard streams, the socket to the VMM, guest memory, eventfds, and the JVM's own files. (One socket only: the
     * count of sockets is checked apart.)
     */
    private static boolean expected(String fd) {
        String link = fd.substring(fd.indexOf(' ') + 1);
        return link.equals("/dev/null")
                || link.startsWith("pipe:")
                || link.startsWith("socket:")
                || link.startsWith("/memfd:guest-ram")
                || link.equals("anon_inode:[eventfd]")
                || link.equals("anon_inode:[eventpoll]")
                || link.startsWith(System.getProperty("java.home"))
                || link.endsWith(".jar")
                || link.equals("/dev/urandom")
                || link.equals("/dev/random")
                || link.startsWith("/proc/");
    }

    /** The guest's view: an entropy device that answers 0x5a bytes; it keeps guest memory for an attempt. */
    static final class PatternRng implements VirtioDevice {
        private final ServedQueues served = new ServedQueues();
        private volatile GuestMemory memory;

        GuestMemory memory() {
            return memory;
        }

        @Override
        public int deviceType() {
            return VirtioIds.RNG;
        }

        @Override
        public long deviceFeatures() {
            return 0;
        }

        @Override
        public List<Integer> queueMaxSizes() {
            return List.of(16);
        }

        @Override
        public void readConfig(long offset, MemorySegment data) {
            data.fill((byte) 0);
        }

        @Override
        public void activate(DeviceActivation activation) throws ActivationException {
            memory = activation.memory();
            served.serve(activation.eventLoop(), QueueHandler.forQueue("pattern", activation, 0, chain -> {
                byte[] pattern = new byte[(int) Math.min(chain.writableBytes(), 4096)];
                java.util.Arrays.fill(pattern, (byte) 0x5a);
                chain.writeWritable(0, MemorySegment.ofArray(pattern));
                return pattern.length;
            }));
        }

        @Override
        public void reset() {
            served.stop();
        }
    }
}
