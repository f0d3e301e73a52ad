// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.linux;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vmm4j.guests.Guests;
import dev.vmm4j.virtio.devices.DiskOption;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Linux user space on vmm4j, where the host's KVM can run it: busybox in an uncompressed initramfs, with an /init script
 * that prints one line per check (mounts, a file's hash read through virtio-blk, bytes from /dev/hwrng, the vCPUs,
 * a line typed on the serial console) and reboots. Whether user space can run is decided by a probe: the guest kit's
 * syscall_probe, which makes a system call from ring 3. On a KVM that emulates ring 0 and does not switch privilege on
 * syscall (this project's development and CI machines) the test is skipped with the probe's answer as the reason.
 */
@RequiresLinuxKernel
@Timeout(value = 20, unit = TimeUnit.MINUTES)
class LinuxUserSpaceTest {
    private static final Path BUSYBOX = Path.of("/bin/busybox");
    private static final String INIT = """
            #!/bin/busybox sh
            /bin/busybox --install -s /bin
            mount -t proc proc /proc
            mount -t sysfs sys /sys
            mount -t devtmpfs dev /dev
            echo "check: kernel $(uname -r)"
            echo "check: cpus $(grep -c ^processor /proc/cpuinfo)"
            mount -t ext4 -o ro /dev/vda /mnt && echo "check: data $(sha256sum /mnt/data | cut -d' ' -f1)"
            echo "check: hwrng $(head -c 32 /dev/hwrng | wc -c)"
            echo "check: type a line"
            read -r line
            echo "check: input $line"
            echo "check: done"
            reboot -f
            """;

    @TempDir
    Path dir;

    /** {@return why user space cannot run on this host's KVM, or null if it can} */
    private String userSpaceProblem() throws Exception {
        Path probe = Files.write(dir.resolve("syscall_probe.elf"), Guests.SYSCALL_PROBE.elf());
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(16))
                .kernel(probe)
                .serial(console)
                .build()) {
            vm.start();
            ExitStatus status = vm.awaitExit(Duration.ofMinutes(2)).orElse(null);
            String out = console.toString(StandardCharsets.UTF_8);
            if (out.contains("syscall_probe: entered ring 0")) {
                return null;
            }
            return "this host's KVM cannot run Linux user space: a system call from ring 3 did not enter ring 0 (probe: "
                    + out.strip().replace('\n', ' ') + "; " + (status == null ? "no exit" : status.description()) + ")";
        }
    }

    @Test
    void busyboxChecksTheDevicesFromUserSpace() throws Exception {
        String problem = userSpaceProblem();
        assumeTrue(problem == null, problem);
        assertTrue(
                Files.isExecutable(BUSYBOX),
                "busybox-static is needed at " + BUSYBOX + " (apt install busybox-static)");
        byte[] data = new byte[100_000];
        new Random(7).nextBytes(data);
        Path tree = Files.createDirectories(dir.resolve("data-tree"));
        Files.write(tree.resolve("data"), data);
        Path disk = RootFileSystem.ext4(dir.resolve("data.ext4"), tree, 16);
        Initramfs initramfs = new Initramfs();
        for (String directory : new String[] {"bin", "dev", "proc", "sys", "mnt"}) {
            initramfs.directory(directory);
        }
        initramfs.file("bin/busybox", Files.readAllBytes(BUSYBOX), 0755).file("init", INIT.getBytes(), 0755);
        Path initrd = Files.write(dir.resolve("initramfs.cpio"), initramfs.toBytes());

        Console console = new Console();
        PipedOutputStream typing = new PipedOutputStream();
        try (PipedInputStream keyboard = new PipedInputStream(typing);
                VirtualMachine vm = VirtualMachine.builder()
                        .vcpus(2)
                        .kernel(LinuxTestKernel.path())
                        .initrd(initrd)
                        .cmdline("rdinit=/init")
                        .serial(console)
                        .serialInput(keyboard)
                        .device(VirtioDevices.disk(disk, DiskOption.READ_ONLY))
                        .device(VirtioDevices.rng())
                        .build()) {
            vm.start();
            assertTrue(console.await("check: type a line", LinuxSuite.BOOT_TIMEOUT), console.text());
            typing.write("typed on the host\n".getBytes(StandardCharsets.US_ASCII));
            typing.flush();
            ExitStatus status = vm.awaitExit(LinuxSuite.DRIVER_TIMEOUT).orElse(null);
            LinuxSuite.keepLog(getClass(), console);
            assertInstanceOf(ExitStatus.GuestReset.class, status, console.text());
        }
        String digest =
                HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        LinuxSuite.assertLines(
                console,
                "check: cpus 2",
                "check: data " + digest,
                "check: hwrng 32",
                "check: input typed on the host",
                "check: done");
    }
}
