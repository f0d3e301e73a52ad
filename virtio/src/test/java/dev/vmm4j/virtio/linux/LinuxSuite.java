// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.linux;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.arch.DeviceAnnouncement;
import dev.vmm4j.vmm.devices.VmDevice;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;

/** What the Linux guest suite's boots share: their time limits, their checks of the kernel log, and where logs go. */
final class LinuxSuite {
    /** From start to init on this project's emulating KVM: about 2.5 minutes with two vCPUs; on hardware, a second. */
    static final Duration BOOT_TIMEOUT = Duration.ofMinutes(8);
    /** For a driver to act on what the host changed (a balloon target). */
    static final Duration DRIVER_TIMEOUT = Duration.ofMinutes(3);
    /** Lines that mean the kernel went wrong, whatever the test checks. */
    private static final List<String> TROUBLE = List.of("BUG:", "Oops", "Call Trace", "WARNING:", "Kernel panic");

    private LinuxSuite() {}

    /** Waits up to {@code timeout} for {@code value} to read {@code expected}. {@return whether it did} */
    static boolean await(LongSupplier value, long expected, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (value.getAsLong() != expected && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        return value.getAsLong() == expected;
    }

    /**
     * Says {@code CONNECT port} to a vsock device's unix socket. {@return what the socket said before it closed, then
     * "<closed>"}
     */
    static String connectThroughUnixSocket(Path socket, int port) throws IOException {
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            channel.write(ByteBuffer.wrap(("CONNECT " + port + "\n").getBytes(StandardCharsets.US_ASCII)));
            ByteBuffer answer = ByteBuffer.allocate(64);
            while (answer.hasRemaining() && channel.read(answer) >= 0) {
                // until the device closes the socket
            }
            return StandardCharsets.US_ASCII.decode(answer.flip()) + "<closed>";
        }
    }

    /** Fails unless every one of {@code lines} is in the kernel log. */
    static void assertLines(Console console, String... lines) {
        String log = console.text();
        for (String line : lines) {
            assertTrue(log.contains(line), "no \"" + line + "\" in the kernel log:\n" + log);
        }
    }

    /** Fails if the kernel log shows a bug, an oops, a warning or a panic. */
    static void assertNoKernelTrouble(Console console) {
        String log = console.text();
        for (String trouble : TROUBLE) {
            assertTrue(!log.contains(trouble), "\"" + trouble + "\" in the kernel log:\n" + log);
        }
    }

    /**
     * Boots the test kernel with {@code parameters} and {@code disk} as its only device, its console into
     * {@code console}, until the guest ends the VM or {@link #BOOT_TIMEOUT} passes. {@return how it ended, or null if
     * it did not}
     */
    static ExitStatus runToExit(String parameters, VmDevice disk, Console console) throws InterruptedException {
        return runToExit(parameters, disk, console, DeviceAnnouncement.FIRMWARE);
    }

    /** As {@link #runToExit(String, VmDevice, Console)}, the device announced as {@code announcement} says. */
    static ExitStatus runToExit(String parameters, VmDevice disk, Console console, DeviceAnnouncement announcement)
            throws InterruptedException {
        try (VirtualMachine vm = VirtualMachine.builder()
                .kernel(LinuxTestKernel.path())
                .cmdline(parameters)
                .deviceAnnouncement(announcement)
                .serial(console)
                .device(disk)
                .build()) {
            vm.start();
            return vm.awaitExit(BOOT_TIMEOUT).orElse(null);
        }
    }

    /** Keeps a boot's console in {@code target/linux-guest-suite/}, for reading after the build. */
    static void keepLog(Class<?> test, Console console) {
        try {
            Path logs = Files.createDirectories(Path.of("target", "linux-guest-suite"));
            Files.writeString(logs.resolve(test.getSimpleName() + ".log"), console.text());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
