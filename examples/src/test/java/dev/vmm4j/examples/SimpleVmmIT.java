// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vmm4j.guests.Guests;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./simple-vmm} as a user runs it, from the repository root, after the package phase built its jar: the demo
 * guest with a raw disk and a control socket, then {@code status}, {@code balloon} and {@code stop} from other
 * processes.
 */
@RequiresKvm
class SimpleVmmIT {
    private static final Path REPOSITORY = Path.of(System.getProperty("vmm4j.repository", ".."))
            .toAbsolutePath()
            .normalize();
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    /** A running ./simple-vmm, its output going to files. */
    private final class Run implements AutoCloseable {
        final Process process;
        final Path out;
        final Path err;

        Run(List<String> args) throws IOException {
            this(List.of(), args);
        }

        Run(List<String> shellPrefix, List<String> args) throws IOException {
            out = Files.createTempFile(dir, "out", ".txt");
            err = Files.createTempFile(dir, "err", ".txt");
            List<String> command = new ArrayList<>(shellPrefix);
            command.add(REPOSITORY.resolve("simple-vmm").toString());
            command.addAll(args);
            process = new ProcessBuilder(command)
                    .directory(dir.toFile())
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .redirectInput(
                            ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .start();
        }

        String out() throws IOException {
            return Files.readString(out, StandardCharsets.UTF_8);
        }

        String err() throws IOException {
            return Files.readString(err, StandardCharsets.UTF_8);
        }

        /** Waits until the guest's console shows {@code text}. */
        void awaitOutput(String text) throws Exception {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (!out().contains(text)) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new AssertionError(
                            "no \"" + text + "\" from simple-vmm; out:\n" + out() + "\nerr:\n" + err());
                }
                Thread.sleep(50);
            }
        }

        int await() throws Exception {
            if (!process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)) {
                throw new AssertionError("simple-vmm did not end; out:\n" + out() + "\nerr:\n" + err());
            }
            return process.exitValue();
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    /** Runs a control command to its end; returns status, stdout and stderr. */
    private String[] control(String... args) throws Exception {
        try (Run run = new Run(List.of(args))) {
            int status = run.await();
            return new String[] {Integer.toString(status), run.out(), run.err()};
        }
    }

    @Test
    void runWithoutArgumentsBootsTheDemoGuestAndExits0() throws Exception {
        try (Run run = new Run(List.of("run"))) {
            assertEquals(0, run.await(), run.err());
            String out = run.out();
            assertTrue(out.contains("vmm4j demo guest"), out);
            assertTrue(out.contains("command line: console=ttyS0"), out);
            assertTrue(out.contains("virtio-rng at 0xd0000000 irq 5"), out);
            assertTrue(out.contains("virtio-balloon at 0xd0001000 irq 6"), out);
            assertTrue(out.matches("(?s).*rng: ([0-9a-f]{2} ){15}[0-9a-f]{2}\n.*"), out);
            assertTrue(out.contains("demo: done, resetting the machine"), out);
            assertEquals("simple-vmm: the guest reset the machine\n", run.err());
        }
    }

    @Test
    void diskSocketBalloonAndStop() throws Exception {
        byte[] image = new byte[64 * 512];
        for (int i = 0; i < image.length; i++) {
            image[i] = (byte) (0xc0 + i);
        }
        Path disk = Files.write(dir.resolve("disk.img"), image);
        Path sockets = Files.createDirectory(dir.resolve("sockets"));
        try (Run vm = new Run(
                List.of("run", "--rwdisk", disk.toString(), "--socket", sockets.toString(), "--params", "demo.wait"))) {
            vm.awaitOutput("demo: waiting for the host");
            assertTrue(
                    vm.out().contains("disk: first sector starts c0 c1 c2 c3 c4 c5 c6 c7 c8 c9 ca cb cc cd ce cf"),
                    vm.out());
            Path socket;
            try (var files = Files.list(sockets)) {
                socket = files.filter(p -> p.getFileName().toString().matches("vmm4j-\\d+\\.sock"))
                        .findFirst()
                        .orElseThrow();
            }
            assertEquals(
                    "rw-------",
                    java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));

            String[] status = control("status", socket.toString());
            assertEquals("0", status[0], status[2]);
            assertEquals(
                    socket + ": state=running memory=268435456 vcpus=1 balloon_target=0 balloon_actual=0\n", status[1]);

            String[] balloon = control("balloon", "1M", socket.toString());
            assertEquals("0", balloon[0], balloon[2]);
            vm.awaitOutput("balloon: target 256 pages, holding 256");
            status = control("status", socket.toString());
            assertTrue(status[1].endsWith("balloon_target=1048576 balloon_actual=1048576\n"), status[1]);

            String[] stop = control("stop", socket.toString());
            assertEquals("0", stop[0], stop[2]);
            assertEquals(0, vm.await(), vm.err());
            assertTrue(vm.err().endsWith("simple-vmm: stopped by the host\n"), vm.err());
            assertFalse(Files.exists(socket), "the socket file is removed on exit");
        }
        String[] gone = control("stop", sockets.resolve("vmm4j-1.sock").toString());
        assertEquals("1", gone[0]);
        assertTrue(gone[2].startsWith("simple-vmm: no VM listens on"), gone[2]);
    }

    @Test
    void anInheritedFdIsADisk() throws Exception {
        Path disk = Files.write(
                dir.resolve("fd.img"), new byte[] {0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        Files.write(disk, new byte[4096 - 16], java.nio.file.StandardOpenOption.APPEND);
        // bash opens the image as fd 9 and simple-vmm uses that fd, as crosvm's launchers do.
        try (Run run = new Run(
                List.of("bash", "-c", "exec \"$0\" \"$@\" 9<>" + disk),
                List.of("run", "--rwdisk", "/proc/self/fd/9", "--no-rng", "--no-balloon"))) {
            assertEquals(0, run.await(), run.err());
            assertTrue(run.out().contains("disk: first sector starts 11 22 33 44 00"), run.out());
        }
    }

    @Test
    void vsockSocketBridgesHostProgramsAndTheGuest() throws Exception {
        Path guest = Files.write(dir.resolve("vsock_echo.elf"), Guests.VSOCK_ECHO.elf());
        Path socket = dir.resolve("v.sock");
        try (ServerSocketChannel port5000 = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            port5000.bind(UnixDomainSocketAddress.of(dir.resolve("v.sock_5000")));
            try (Run run = new Run(List.of(
                    "run", guest.toString(), "--vsock-socket", socket.toString(), "--no-rng", "--no-balloon"))) {
                run.awaitOutput("vsock: listening on 1234");
                assertTrue(run.out().contains("vsock: cid 3"), run.out());
                try (SocketChannel fromGuest = port5000.accept()) {
                    ByteBuffer hello = ByteBuffer.allocate(64);
                    while (fromGuest.read(hello) >= 0) {
                        // until the guest closes
                    }
                    assertEquals("hello from cid 3\n", new String(hello.array(), 0, hello.position()));
                }
                try (SocketChannel host = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                    host.write(ByteBuffer.wrap("CONNECT 1234\nping".getBytes(StandardCharsets.US_ASCII)));
                    ByteBuffer answer = ByteBuffer.allocate(64);
                    while (!new String(answer.array(), 0, answer.position()).endsWith("ping")) {
                        assertTrue(host.read(answer) >= 0, new String(answer.array(), 0, answer.position()));
                    }
                    assertTrue(
                            new String(answer.array(), 0, answer.position()).matches("OK [0-9]+\nping"),
                            new String(answer.array(), 0, answer.position()));
                }
                run.process.destroy(); // SIGTERM: the VM stops and its socket goes
                run.await();
                assertTrue(!Files.exists(socket), "the vsock socket outlived simple-vmm");
            }
        }
    }

    @Test
    void theHostIpFlagsMakeATapThatTheGuestPingsThrough() throws Exception {
        Path guest = Files.write(dir.resolve("net_ping.elf"), Guests.NET_PING.elf());
        try (NetworkNamespaceForTest namespace = new NetworkNamespaceForTest()) {
            // simple-vmm runs inside the namespace, so the tap it makes (and all traffic) stays there.
            try (Run run = new Run(
                    namespace.execPrefix(),
                    List.of(
                            "run",
                            guest.toString(),
                            "--host-ip",
                            "10.77.5.1",
                            "--netmask",
                            "255.255.255.0",
                            "--mac",
                            "02:00:00:00:00:58",
                            "-p",
                            "net.ip=10.77.5.2 net.host=10.77.5.1",
                            "--no-rng",
                            "--no-balloon"))) {
                assertEquals(0, run.await(), run.err());
                // --mac is the tap's (the host's end), as in crosvm: the guest answers with it in hand.
                assertTrue(run.out().contains("net: mac 52:54:00:12:34:56 (default)"), run.out());
                assertTrue(run.out().contains("net: arp reply from 10.77.5.1 is-at 02:00:00:00:00:58"), run.out());
                assertTrue(run.out().contains("net: done"), run.out());
            }
        }
    }

    @Test
    void anInheritedTapFdIsANetwork() throws Exception {
        assumeTrue(
                Files.isExecutable(Path.of("/usr/bin/python3")),
                "the launcher that passes a tap fd here is a python3 script (apt install python3)");
        Path guest = Files.write(dir.resolve("net_ping.elf"), Guests.NET_PING.elf());
        // A launcher as crosvm's users write them: it makes the tap, configures it, and passes it on.
        String launcher = String.join(
                "\n",
                "import fcntl, os, struct, subprocess, sys",
                "fd = os.open('/dev/net/tun', os.O_RDWR)",
                "fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', b'vmm4jfd0', 0x0002 | 0x1000 | 0x4000))",
                "subprocess.run(['ip', 'addr', 'add', '10.77.6.1/24', 'dev', 'vmm4jfd0'], check=True)",
                "subprocess.run(['ip', 'link', 'set', 'vmm4jfd0', 'up'], check=True)",
                "os.set_inheritable(fd, True)",
                "os.execv(sys.argv[1], [str(fd) if a == 'TAPFD' else a for a in sys.argv[1:]])");
        Path script = Files.writeString(dir.resolve("launcher.py"), launcher);
        try (NetworkNamespaceForTest namespace = new NetworkNamespaceForTest()) {
            List<String> prefix = new ArrayList<>(namespace.execPrefix());
            prefix.addAll(List.of("python3", script.toString()));
            try (Run run = new Run(
                    prefix,
                    List.of(
                            "run",
                            guest.toString(),
                            "--tap-fd",
                            "TAPFD",
                            "-p",
                            "net.ip=10.77.6.2 net.host=10.77.6.1",
                            "--no-rng",
                            "--no-balloon"))) {
                assertEquals(0, run.await(), run.err());
                assertTrue(run.out().contains("net: mac 52:54:00:12:34:56 (default)"), run.out());
                assertTrue(run.out().contains("net: done"), run.out());
            }
        }
    }

    /** A network namespace of the test's own (iproute2), so that its taps never touch the machine's interfaces. */
    private static final class NetworkNamespaceForTest implements AutoCloseable {
        private final String name = "vmm4j-it-" + ProcessHandle.current().pid() + "-" + System.nanoTime() % 100_000;

        NetworkNamespaceForTest() throws Exception {
            assumeTrue(
                    hasNetAdmin(),
                    "network tests make a network namespace and a tap, which needs CAP_NET_ADMIN: run them as root");
            run("ip", "netns", "add", name);
            run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up");
        }

        private static boolean hasNetAdmin() throws IOException {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    return (Long.parseUnsignedLong(
                                            line.substring("CapEff:".length()).strip(), 16)
                                    & (1L << 12))
                            != 0;
                }
            }
            return false;
        }

        List<String> execPrefix() {
            return List.of("ip", "netns", "exec", name);
        }

        private static void run(String... command) throws Exception {
            Process process = new ProcessBuilder(command).inheritIO().start();
            assertEquals(0, process.waitFor(), String.join(" ", command));
        }

        @Override
        public void close() throws Exception {
            run("ip", "netns", "del", name);
        }
    }

    @Test
    void aGuestPowerOffIsTheLastLineAndStatus0() throws Exception {
        Path guest = Files.write(dir.resolve("poweroff.elf"), Guests.POWEROFF.elf());
        try (Run run = new Run(List.of("run", guest.toString(), "--no-rng", "--no-balloon"))) {
            assertEquals(0, run.await(), run.err());
            assertEquals("simple-vmm: the guest powered the machine off\n", run.err());
            assertTrue(run.out().contains("poweroff: \\_S5 sleep type 5"), run.out());
        }
        try (Run run = new Run(List.of("run", guest.toString(), "--no-acpi", "--no-rng", "--no-balloon"))) {
            assertEquals(0, run.await(), run.err());
            assertEquals("simple-vmm: the guest reset the machine\n", run.err(), "no ACPI tables: no way to power off");
            assertTrue(run.out().contains("poweroff: FAIL no FADT"), run.out());
        }
    }

    @Test
    void aBadKernelIsOneLineAndStatus1() throws Exception {
        Path kernel = Files.writeString(dir.resolve("vmlinux"), "not a kernel");
        try (Run run = new Run(List.of("run", kernel.toString()))) {
            assertEquals(1, run.await());
            assertEquals(1, run.err().lines().count(), run.err());
            assertTrue(run.err().startsWith("simple-vmm: "), run.err());
            assertFalse(run.err().contains("Exception"), run.err());
        }
    }
}
