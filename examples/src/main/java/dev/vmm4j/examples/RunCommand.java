// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples;

import dev.vmm4j.examples.cli.Command;
import dev.vmm4j.examples.cli.Option;
import dev.vmm4j.examples.cli.Parameter;
import dev.vmm4j.examples.cli.UsageException;
import dev.vmm4j.examples.cli.Values;
import dev.vmm4j.examples.control.ControlServer;
import dev.vmm4j.examples.control.VirtualMachineControl;
import dev.vmm4j.virtio.balloon.BalloonPolicy;
import dev.vmm4j.virtio.balloon.LinuxMemoryPressure;
import dev.vmm4j.virtio.devices.DiskOption;
import dev.vmm4j.virtio.devices.VirtioBalloon;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.virtio.net.MacAddress;
import dev.vmm4j.virtio.net.NetConfig;
import dev.vmm4j.virtio.p9.P9Device;
import dev.vmm4j.virtio.vsock.VsockConfig;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.arch.DeviceAnnouncement;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import java.io.PrintStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code simple-vmm run}: crosvm's {@code run} on vmm4j. */
final class RunCommand implements Command {
    /** The most virtio disks: /dev/vda to /dev/vdz. */
    static final int MAX_DISKS = 26;
    /** The guest CID of a --vsock-socket device without --cid: the first a guest may have. */
    static final long DEFAULT_VSOCK_CID = 3;
    /** How long a signal waits for the VM to close before the JVM exits anyway. */
    private static final int CLOSE_ON_SIGNAL_SECONDS = 10;

    /**
     * A disk in command-line order: its path, whether the guest may write it, whether it is the root, and whether it
     * must be qcow2 (else its format is probed: qcow2 by its magic, raw otherwise).
     */
    record Disk(Path path, boolean writable, boolean root, boolean qcow2) {
        Disk(Path path, boolean writable, boolean root) {
            this(path, writable, root, false);
        }
    }

    /** A host directory shared with the guest over virtio-9p: {@code --shared-dir SRC:TAG[:ro]}. */
    record SharedDirectory(Path source, String tag, boolean readOnly) {}

    // What the command line says; options() below sets each field, with the defaults it declares there.
    Path kernel;
    long memoryMib;
    int cpus;
    final List<String> params = new ArrayList<>();
    /** --root, --disk, --rwdisk, --qcow and --rwqcow in command-line order: /dev/vda, /dev/vdb, ... */
    final List<Disk> disks = new ArrayList<>();

    Path initrd;
    Path socket;
    boolean rng;
    boolean balloon;
    boolean serialInput;
    Inet4Address hostIp;
    Inet4Address netmask;
    MacAddress mac;
    final List<Integer> tapFds = new ArrayList<>();
    boolean vhostNet;
    final List<String> sharedDirArguments = new ArrayList<>();
    Long cid;
    Path vsockSocket;
    boolean acpi;
    boolean disableSandbox;

    @Override
    public String name() {
        return "run";
    }

    @Override
    public List<String> description() {
        return List.of(
                "Boots KERNEL (an ELF vmlinux or a bzImage) in a new VM, or the bundled demo guest without one.",
                "The guest's console is this terminal (COM1). Exit status: 0 when the guest powers off or resets, or"
                        + " a stop ends it; 1 when it crashes or cannot start; 2 for a bad command line.");
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(Parameter.optional(
                "KERNEL", "The kernel to boot; without one, the demo guest.", path -> kernel = Values.toPath(path)));
    }

    @Override
    public List<Option> options() {
        return List.of(
                Option.value("-m, --mem", "MiB", "Guest memory in MiB.", mib -> memoryMib = Values.toLong(mib))
                        .withDefault("256"),
                Option.value("-c, --cpus", "N", "Number of vCPUs.", n -> cpus = Values.toInt(n))
                        .withDefault("1"),
                Option.repeatable("-p, --params", "TEXT", "Kernel command-line parameters.", params::add),
                Option.value(
                        "-r, --root",
                        "PATH",
                        "A read-only disk that is the root file system (adds root=/dev/vdX ro).",
                        path -> addDisk(new Disk(Values.toPath(path), false, true))),
                Option.repeatable(
                        "-d, --disk",
                        "PATH",
                        "A read-only disk image, raw or qcow2 (by its magic).",
                        path -> addDisk(new Disk(Values.toPath(path), false, false))),
                Option.repeatable(
                        "--rwdisk",
                        "PATH",
                        "A writable disk image; /proc/self/fd/N uses inherited fd N.",
                        path -> addDisk(new Disk(Values.toPath(path), true, false))),
                Option.repeatable(
                        "--qcow",
                        "PATH",
                        "A read-only qcow2 image (refused if it is not qcow2).",
                        path -> addDisk(new Disk(Values.toPath(path), false, false, true))),
                Option.repeatable(
                        "--rwqcow",
                        "PATH",
                        "A writable qcow2 image (refused if it is not qcow2).",
                        path -> addDisk(new Disk(Values.toPath(path), true, false, true))),
                Option.value("-i, --initrd", "PATH", "An initial ramdisk.", path -> initrd = Values.toPath(path)),
                Option.value(
                        "-s, --socket",
                        "PATH|DIR",
                        "A control socket for stop, balloon and status; in a directory it is named vmm4j-<pid>.sock.",
                        path -> socket = Values.toPath(path)),
                Option.negatable("--rng", true, "A virtio entropy device.", on -> rng = on),
                Option.negatable(
                        "--balloon",
                        true,
                        "A virtio memory balloon, moved by the balloon command and by host memory pressure.",
                        on -> balloon = on),
                Option.flag(
                        "--serial-input",
                        "Forward this terminal's input to the guest's console (raw mode, restored on exit).",
                        () -> serialInput = true),
                Option.value(
                        "--host-ip, --host_ip",
                        "IPV4",
                        "The host's IPv4 address on a new tap (vmtapN) for the guest's network; with --netmask and"
                                + " --mac. Making a tap needs CAP_NET_ADMIN.",
                        address -> hostIp = ipv4(address)),
                Option.value(
                        "--netmask",
                        "IPV4",
                        "The netmask of the new tap's link; with --host-ip and --mac.",
                        address -> netmask = ipv4(address)),
                Option.value(
                        "--mac",
                        "MAC",
                        "The new tap's own MAC address (the host's end, as crosvm's --mac), as 02:00:00:00:00:01;"
                                + " with --host-ip and --netmask. The guest's driver picks its own.",
                        address -> mac = MacAddress.parse(address)),
                Option.repeatable(
                        "--tap-fd, --tap_fd",
                        "FD",
                        "A tap this process inherited open, for another network device.",
                        fd -> tapFds.add(Values.toInt(fd))),
                Option.flag(
                        "--vhost-net, --vhost_net",
                        "Let the host kernel's vhost-net move the network devices' frames (needs /dev/vhost-net).",
                        () -> vhostNet = true),
                Option.repeatable(
                        "--shared-dir, --shared_dir",
                        "SRC:TAG[:ro]",
                        "Shares the host directory SRC with the guest over virtio-9p under the mount tag TAG"
                                + " (mount -t 9p -o trans=virtio,version=9p2000.L TAG /mnt); :ro makes it read-only.",
                        sharedDirArguments::add),
                Option.value(
                        "--cid",
                        "N",
                        "Gives the guest a vsock device with context ID N (3 or more): served by the host kernel's"
                                + " vhost-vsock (needs /dev/vhost-vsock), as crosvm's --cid; with --vsock-socket, by"
                                + " vmm4j instead.",
                        n -> cid = Values.toLong(n)),
                Option.value(
                        "--vsock-socket, --vsock_socket",
                        "PATH",
                        "Gives the guest a vsock device served by vmm4j (CID 3 unless --cid says otherwise): host"
                                + " programs connect to the unix socket PATH and write 'CONNECT <port>\\n'"
                                + " (Firecracker's protocol); the guest's connections to host port P go to the unix"
                                + " socket PATH_P.",
                        path -> vsockSocket = Values.toPath(path)),
                Option.negatable(
                        "--acpi",
                        true,
                        "Describe the devices to the guest in ACPI tables, which stock kernels read; --no-acpi puts"
                                + " Linux's virtio_mmio.device= parameters on the kernel command line instead, as"
                                + " crosvm does, for kernels built without ACPI.",
                        on -> acpi = on),
                Option.flag(
                        "--disable-sandbox, --disable_sandbox",
                        "Run the devices in this process rather than each in its own jailed process (bubblewrap"
                                + " namespaces, a seccomp filter, Landlock), which is the default, as in crosvm.",
                        () -> disableSandbox = true));
    }

    /** {@return the --shared-dir arguments as directories and tags, in command-line order} */
    List<SharedDirectory> sharedDirectories() {
        List<SharedDirectory> shared = new ArrayList<>();
        for (String value : sharedDirArguments) {
            String rest = value;
            boolean readOnly = rest.endsWith(":ro");
            if (readOnly) {
                rest = rest.substring(0, rest.length() - 3);
            }
            int colon = rest.lastIndexOf(':');
            if (colon <= 0 || colon == rest.length() - 1) {
                throw new UsageException(
                        "--shared-dir takes SRC:TAG or SRC:TAG:ro, as /srv/share:hostshare, not '" + value + "'");
            }
            String tag = rest.substring(colon + 1);
            try {
                P9Device.checkTag(tag);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--shared-dir " + value + ": " + e.getMessage());
            }
            if (shared.stream().anyMatch(directory -> directory.tag().equals(tag))) {
                throw new UsageException("--shared-dir: the tag " + tag + " is given twice");
            }
            shared.add(new SharedDirectory(Path.of(rest.substring(0, colon)), tag, readOnly));
        }
        return shared;
    }

    /** {@return the vsock device the flags ask for, if any} */
    Optional<VsockConfig> vsock() {
        if (cid == null && vsockSocket == null) {
            return Optional.empty();
        }
        VsockConfig config;
        try {
            config = VsockConfig.of(cid != null ? cid : DEFAULT_VSOCK_CID);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--cid: " + e.getMessage());
        }
        return Optional.of(vsockSocket != null ? config.withUnixSocket(vsockSocket) : config.withVhost(true));
    }

    private static Inet4Address ipv4(String address) {
        // Four decimal parts, each checked by ofLiteral (which alone would also take BSD's "10.2" forms); never a
        // name to look up.
        try {
            if (address.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")
                    && InetAddress.ofLiteral(address) instanceof Inet4Address ipv4) {
                return ipv4;
            }
        } catch (IllegalArgumentException e) {
            // a part above 255
        }
        throw new IllegalArgumentException("'" + address + "' is not an IPv4 address");
    }

    /** {@return the network devices in the order crosvm adds them: the new tap's, then each inherited tap's} */
    List<NetConfig> networks() {
        List<NetConfig> networks = new ArrayList<>();
        if (hostIp != null) {
            networks.add(NetConfig.newTap(hostIp, netmask).withTapMac(mac).withVhost(vhostNet));
        }
        for (int fd : tapFds) {
            networks.add(NetConfig.inheritedTap(fd).withVhost(vhostNet));
        }
        return networks;
    }

    private void addDisk(Disk disk) {
        if (disks.size() == MAX_DISKS) {
            throw new IllegalArgumentException("at most " + MAX_DISKS + " disks (/dev/vda to /dev/vdz)");
        }
        disks.add(disk);
    }

    /** {@return the kernel command line: the root parameter, then --params in order} */
    String commandLine() {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < disks.size(); i++) {
            if (disks.get(i).root()) {
                parts.add("root=/dev/vd" + (char) ('a' + i) + " ro");
            }
        }
        parts.addAll(params);
        return String.join(" ", parts);
    }

    /** {@return where the control socket goes: the path given, or vmm4j-<pid>.sock in the directory given} */
    Path socketPath() {
        return Files.isDirectory(socket)
                ? socket.resolve("vmm4j-" + ProcessHandle.current().pid() + ".sock")
                : socket;
    }

    private void check() {
        if (memoryMib < 16 || memoryMib > (1L << 20)) {
            throw new UsageException("--mem is in MiB, from 16 to 1048576, not " + memoryMib);
        }
        if (cpus < 1) {
            throw new UsageException("--cpus must be at least 1, not " + cpus);
        }
        int given = (hostIp != null ? 1 : 0) + (netmask != null ? 1 : 0) + (mac != null ? 1 : 0);
        if (given != 0 && given != 3) {
            throw new UsageException("--host-ip, --netmask and --mac go together: a new tap needs all three");
        }
        if (netmask != null) {
            try {
                NetConfig.newTap(hostIp, netmask);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--netmask: " + e.getMessage());
            }
        }
        sharedDirectories(); // refuses a malformed or repeated --shared-dir before anything starts
        vsock(); // refuses a reserved --cid
        if (tapFds.stream().distinct().count() < tapFds.size()) {
            throw new UsageException("--tap-fd " + tapFds + " names a tap twice");
        }
        if (vhostNet && given == 0 && tapFds.isEmpty()) {
            throw new UsageException("--vhost-net needs a network: give --host-ip, --netmask and --mac, or --tap-fd");
        }
    }

    @Override
    public int call(PrintStream out, PrintStream err) throws Exception {
        check();
        Path demo = kernel == null ? DemoGuest.extract() : null;
        try {
            return run(kernel != null ? kernel : demo, err);
        } finally {
            if (demo != null) {
                Files.deleteIfExists(demo);
            }
        }
    }

    @SuppressWarnings(
            "try") // the control socket and the terminal mode live exactly as long as the VM; nothing calls them
    private int run(Path image, PrintStream err) throws Exception {
        VirtualMachineBuilder builder = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(memoryMib))
                .vcpus(cpus)
                .kernel(image)
                .cmdline(commandLine())
                .deviceAnnouncement(acpi ? DeviceAnnouncement.FIRMWARE : DeviceAnnouncement.KERNEL_COMMAND_LINE)
                .serial(System.out);
        if (initrd != null) {
            builder.initrd(initrd);
        }
        if (!disableSandbox) {
            builder.sandbox(DeviceSandbox.bubblewrap());
        }
        for (Disk disk : disks) {
            List<DiskOption> options = new ArrayList<>();
            if (!disk.writable()) {
                options.add(DiskOption.READ_ONLY);
            }
            if (disk.qcow2()) {
                options.add(DiskOption.QCOW2);
            }
            builder.device(VirtioDevices.disk(disk.path(), options.toArray(DiskOption[]::new)));
        }
        if (rng) {
            builder.device(VirtioDevices.rng());
        }
        Optional<VirtioBalloon> balloonDevice = balloon ? Optional.of(VirtioDevices.balloon()) : Optional.empty();
        balloonDevice.ifPresent(builder::device);
        for (NetConfig network : networks()) {
            builder.device(VirtioDevices.net(network));
        }
        for (SharedDirectory shared : sharedDirectories()) {
            builder.device(VirtioDevices.sharedDirectory(shared.source(), shared.tag(), shared.readOnly()));
        }
        vsock().ifPresent(config -> builder.device(VirtioDevices.vsock(config)));
        if (serialInput) {
            builder.serialInput(System.in);
        }
        CountDownLatch closed = new CountDownLatch(1);
        try {
            try (VirtualMachine vm = builder.build();
                    ControlServer control = socket == null
                            ? null
                            : ControlServer.start(
                                    socketPath(),
                                    new VirtualMachineControl(vm, balloonDevice),
                                    body -> vm.newThread("control-socket", body));
                    RawTerminal terminal = serialInput ? RawTerminal.enter() : null) {
                // Ctrl-C, kill: end the VM, and let the JVM exit only once it is closed below (its sockets deleted).
                Thread onSignal = Thread.ofPlatform().unstarted(() -> {
                    vm.stop();
                    awaitClosed(closed);
                });
                Runtime.getRuntime().addShutdownHook(onSignal);
                Thread policy = balloonDevice
                        .map(device -> startBalloonPolicy(vm, device))
                        .orElse(null);
                try {
                    ExitStatus status = vm.run();
                    System.out.flush();
                    err.println("simple-vmm: " + status.description());
                    return status.isClean() || status instanceof ExitStatus.HostStop ? 0 : 1;
                } finally {
                    if (policy != null) {
                        policy.interrupt();
                        policy.join();
                    }
                    try {
                        Runtime.getRuntime().removeShutdownHook(onSignal);
                    } catch (IllegalStateException shuttingDown) {
                        // the hook is already running: it stops the VM, which has ended, and waits for the close
                    }
                }
            }
        } finally {
            closed.countDown();
        }
    }

    /** Waits, a few seconds at most, for run() to have closed the VM and what lives with it. */
    private static void awaitClosed(CountDownLatch closed) {
        try {
            closed.await(CLOSE_ON_SIGNAL_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Moves the balloon as crosvm's low-memory policy says, twice a second, on a thread of the VM's: if the policy
     * fails, the VM ends with the reason rather than running on without it.
     */
    private static Thread startBalloonPolicy(VirtualMachine vm, VirtioBalloon balloon) {
        BalloonPolicy policy = new BalloonPolicy(
                balloon,
                LinuxMemoryPressure.system(),
                BalloonPolicy.Parameters.crosvm(vm.status().memoryBytes()),
                new SecureRandom());
        Thread thread = vm.newThread("balloon-policy", () -> {
            try {
                while (true) {
                    policy.tick(System.nanoTime());
                    Thread.sleep(500);
                }
            } catch (InterruptedException e) {
                // simple-vmm is done with the VM
            }
        });
        thread.start();
        return thread;
    }

    @Override
    public String toString() {
        return "run " + (kernel == null ? "(demo guest)" : kernel) + ", " + memoryMib + " MiB, " + cpus
                + " vCPUs, disks " + disks;
    }
}
