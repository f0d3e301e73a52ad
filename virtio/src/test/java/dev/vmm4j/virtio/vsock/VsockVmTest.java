// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vmm4j.guests.Guests;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.virtio.linux.Console;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.VmBuildException;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * virtio-vsock end to end on /dev/kvm, with the guest kit's polling driver (an echo server on guest port 1234 that
 * also connects out to host port 5000): host processes behind the unix socket protocol and a Java program through
 * {@link VsockHost} talk to it, 100 connections at once, each moving 1 MiB both ways.
 */
@RequiresKvm
class VsockVmTest {
    private static final int CONNECTIONS = 100;
    private static final int BYTES = 1 << 20;
    /** Fewer than {@link #CONNECTIONS}: the same paths, a third of the time. */
    private static final int JAILED_CONNECTIONS = 30; // the guest prints every tenth

    private static final Duration GUEST_START = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void hostConnectionsEchoThroughTheGuestAndTheGuestConnectsOut() throws Exception {
        Console console = new Console();
        Path socket = dir.resolve("vm.vsock");
        VsockHost host = new VsockHost();
        VirtioMmio vsock =
                VirtioDevices.vsock(VsockConfig.of(3).withUnixSocket(socket).withHost(host));
        try (ServerSocketChannel port5000 = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            port5000.bind(UnixDomainSocketAddress.of(dir.resolve("vm.vsock_5000")));
            try (VirtualMachine vm = VirtualMachine.builder()
                    .memory(VirtualMachineBuilder.MiB(64))
                    .kernel(Files.write(dir.resolve("vsock_echo.elf"), Guests.VSOCK_ECHO.elf()))
                    .serial(console)
                    .device(vsock)
                    .build()) {
                vm.start();
                assertTrue(console.await("vsock: listening on 1234", GUEST_START), console.text());
                assertTrue(console.text().contains("vsock: cid 3"), console.text());

                // The guest connected out to host port 5000's unix socket, said hello, and closed.
                try (SocketChannel fromGuest = port5000.accept()) {
                    assertEquals("hello from cid 3\n", new String(readAll(fromGuest), StandardCharsets.US_ASCII));
                }
                assertTrue(console.await("vsock: closed host port 5000", GUEST_START), console.text());

                // 100 host processes at once, each 1 MiB there and back.
                {
                    for (Future<?> echo : echoAtOnce(socket, CONNECTIONS)) {
                        try {
                            echo.get(8, TimeUnit.MINUTES);
                        } catch (java.util.concurrent.ExecutionException e) {
                            throw new AssertionError(
                                    e.getCause().getMessage() + "\n" + ((VsockDevice) vsock.device()).statistics()
                                            + "\nconsole:\n" + console.text(),
                                    e);
                        }
                    }
                }
                assertTrue(console.await("vsock: echo connections served 100", GUEST_START), console.text());

                // The Java API: a connection to the guest's echo port, and the guest's refusal of another port.
                try (VsockChannel channel = host.connect(1234, Duration.ofSeconds(30))) {
                    byte[] message = "through VsockHost".getBytes(StandardCharsets.US_ASCII);
                    channel.write(ByteBuffer.wrap(message));
                    channel.shutdownOutput();
                    ByteBuffer echoed = ByteBuffer.allocate(64);
                    while (channel.read(echoed) >= 0) {
                        // until the guest closes
                    }
                    assertEquals("through VsockHost", new String(echoed.array(), 0, echoed.position()));
                }
                assertThrows(java.net.ConnectException.class, () -> host.connect(999, Duration.ofSeconds(30)));

                // A host that closes mid-stream, without reading: the guest is told, nothing lingers.
                try (SocketChannel abrupt = connectTo(socket, 1234)) {
                    abrupt.write(ByteBuffer.wrap(new byte[100_000]));
                }
                VsockDevice device = (VsockDevice) vsock.device();
                awaitNoConnections(device);
                VsockStatistics statistics = device.statistics();
                assertEquals(0, statistics.creditViolations(), statistics.toString());
                assertEquals(0, statistics.badPackets(), statistics.toString());
                assertEquals(0, statistics.malformedChains(), statistics.toString());
                assertTrue(statistics.bytesToGuest() >= (long) CONNECTIONS * BYTES, statistics.toString());
                assertTrue(statistics.bytesToHost() >= (long) CONNECTIONS * BYTES, statistics.toString());
                assertTrue(
                        !console.text().contains("bad packet")
                                && !console.text().contains("FAIL"),
                        console.text());
                vm.stop();
                assertInstanceOf(ExitStatus.HostStop.class, vm.awaitExit(), console.text());
            }
        }
        assertTrue(!Files.exists(socket), "closing the VM deletes its vsock socket");
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void aDeviceInAJailedProcessEchoesHostConnectionsAndTheGuestConnectsOut() throws Exception {
        Console console = new Console();
        Path socket = dir.resolve("jailed.vsock");
        VirtioMmio vsock = VirtioDevices.vsock(VsockConfig.of(3).withUnixSocket(socket));
        try (ServerSocketChannel port5000 = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            port5000.bind(UnixDomainSocketAddress.of(dir.resolve("jailed.vsock_5000")));
            try (VirtualMachine vm = VirtualMachine.builder()
                    .memory(VirtualMachineBuilder.MiB(64))
                    .kernel(Files.write(dir.resolve("vsock_echo.elf"), Guests.VSOCK_ECHO.elf()))
                    .serial(console)
                    .sandbox(DeviceSandbox.bubblewrap())
                    .device(vsock)
                    .build()) {
                assertTrue(vsock.jailed().isPresent(), "the device runs in a device process");
                vm.start();
                assertTrue(console.await("vsock: listening on 1234", GUEST_START), console.text());
                // The jailed device connected out to the host's <path>_5000 for the guest.
                try (SocketChannel fromGuest = port5000.accept()) {
                    assertEquals("hello from cid 3\n", new String(readAll(fromGuest), StandardCharsets.US_ASCII));
                }
                for (Future<?> echo : echoAtOnce(socket, JAILED_CONNECTIONS)) {
                    echo.get(8, TimeUnit.MINUTES);
                }
                assertTrue(
                        console.await("vsock: echo connections served " + JAILED_CONNECTIONS, GUEST_START),
                        console.text());
                assertTrue(
                        !console.text().contains("bad packet")
                                && !console.text().contains("FAIL"),
                        console.text());
                vm.stop();
                assertInstanceOf(ExitStatus.HostStop.class, vm.awaitExit(), console.text());
            }
        }
        assertTrue(!Files.exists(socket), "the device process deleted its socket when the VM closed");
    }

    /** {@return the echoes of {@code connections} host connections made at once, each on a virtual thread} */
    private static List<Future<?>> echoAtOnce(Path socket, int connections) {
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<?>> echoes = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            long seed = i;
            echoes.add(threads.submit(() -> {
                echoThroughUnixSocket(socket, seed);
                return null;
            }));
        }
        threads.shutdown(); // its threads end with their echoes
        return echoes;
    }

    /** Connects, says CONNECT, writes 1 MiB while reading the echo, and compares digests. */
    private static void echoThroughUnixSocket(Path socket, long seed) throws Exception {
        byte[] sent = new byte[BYTES];
        new SplittableRandom(seed).nextBytes(sent);
        try (SocketChannel channel = connectTo(socket, 1234)) {
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    ByteBuffer out = ByteBuffer.wrap(sent);
                    while (out.hasRemaining()) {
                        channel.write(out); // a blocking unix channel may still write less than asked
                    }
                    channel.shutdownOutput();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            byte[] echoed = readAll(channel);
            writer.join();
            assertEquals(BYTES, echoed.length, "connection " + seed + " echoed " + echoed.length + " bytes");
            assertArrayEquals(digest(sent), digest(echoed), "connection " + seed + " echoed other bytes");
        }
    }

    private static SocketChannel connectTo(Path socket, int port) throws IOException {
        SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        channel.write(ByteBuffer.wrap(("CONNECT " + port + "\n").getBytes(StandardCharsets.US_ASCII)));
        StringBuilder line = new StringBuilder();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (true) {
            one.clear();
            if (channel.read(one) < 0) {
                throw new IOException(
                        "the device closed the connection to guest port " + port + " after '" + line + "'");
            }
            if (one.get(0) == '\n') {
                break;
            }
            line.append((char) one.get(0));
        }
        if (!line.toString().matches("OK \\d+")) {
            throw new IOException("the device answered '" + line + "'");
        }
        return channel;
    }

    private static byte[] readAll(SocketChannel channel) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
        while (channel.read(buffer.clear()) >= 0) {
            out.write(buffer.array(), 0, buffer.position());
        }
        return out.toByteArray();
    }

    private static byte[] digest(byte[] bytes) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(bytes);
    }

    private static void awaitNoConnections(VsockDevice device) throws InterruptedException {
        for (int i = 0; i < 600 && device.statistics().activeConnections() > 0; i++) {
            Thread.sleep(50);
        }
        assertEquals(
                0, device.statistics().activeConnections(), device.statistics().toString());
    }

    /** Python's socket module speaks AF_VSOCK, which the JDK's channels do not: the host's side of vhost-vsock. */
    private static final String VSOCK_ECHO_CLIENT = String.join(
            "\n",
            "import hashlib, socket, sys, threading",
            "data = bytes(range(256)) * 4096",
            "s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)",
            "s.connect((int(sys.argv[1]), 1234))",
            "def send():",
            "    s.sendall(data)",
            "    s.shutdown(socket.SHUT_WR)",
            "threading.Thread(target=send).start()",
            "got = bytearray()",
            "while True:",
            "    chunk = s.recv(65536)",
            "    if not chunk:",
            "        break",
            "    got += chunk",
            "print(len(got), hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest())");

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void theHostKernelsVhostVsockServesTheGuestsEcho() throws Exception {
        assumeTrue(
                Files.exists(VhostVsockDevice.VHOST_VSOCK),
                "this host has no /dev/vhost-vsock (its kernel lacks vhost_vsock): the kernel backend cannot run here");
        long cid = 1000 + ProcessHandle.current().pid() % 100_000; // unlikely to be another VM's
        Console console = new Console();
        VirtioMmio vsock = VirtioDevices.vsock(VsockConfig.of(cid).withVhost(true));
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(64))
                .kernel(Files.write(dir.resolve("vsock_echo.elf"), Guests.VSOCK_ECHO.elf()))
                .serial(console)
                .device(vsock)
                .build()) {
            vm.start();
            assertTrue(console.await("vsock: listening on 1234", GUEST_START), console.text());
            assertTrue(console.text().contains("vsock: cid " + cid), console.text());
            Process client = new ProcessBuilder("python3", "-c", VSOCK_ECHO_CLIENT, Long.toString(cid))
                    .redirectErrorStream(true)
                    .start();
            String answer = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            assertEquals(0, client.waitFor(), answer);
            assertEquals(BYTES + " True", answer, console.text());
            assertInstanceOf(VhostVsockDevice.class, vsock.device());
            vm.stop();
            assertInstanceOf(ExitStatus.HostStop.class, vm.awaitExit(), console.text());
        }
    }

    @Test
    void vhostVsockWhereTheHostHasNoneFailsTheBuildWithTheReason() throws Exception {
        assumeTrue(!Files.exists(VhostVsockDevice.VHOST_VSOCK), "this host has /dev/vhost-vsock: nothing to refuse");
        VmBuildException e = assertThrows(
                VmBuildException.class,
                () -> VirtualMachine.builder()
                        .kernel(Files.write(dir.resolve("hello.elf"), Guests.HELLO.elf()))
                        .device(VirtioDevices.vsock(VsockConfig.of(3).withVhost(true)))
                        .build());
        assertTrue(e.getMessage().contains("needs /dev/vhost-vsock"), e.getMessage());
    }
}
