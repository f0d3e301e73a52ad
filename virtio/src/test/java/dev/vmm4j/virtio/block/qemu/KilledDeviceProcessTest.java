// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmm4j.guests.Guests;
import dev.vmm4j.virtio.block.Qcow2Image;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.virtio.linux.Console;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import dev.vmm4j.vmm.testing.ExternalCommand;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A block device's process is SIGKILLed while the guest writes to a qcow2 disk as fast as it can: the VM ends with a
 * failure that names the device, the VMM is left with no fd and no thread of the VM's, and the image is still
 * consistent ({@code qemu-img check}: no corruption; leaked clusters are what a crash between allocating and using a
 * cluster leaves, and are allowed).
 */
@RequiresKvm
@RequiresQemuImg
class KilledDeviceProcessTest {
    private static final Duration GUEST = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void aDeviceProcessKilledMidWriteEndsTheVmNamingItAndLeavesTheImageConsistent() throws Exception {
        Path guest = Files.write(dir.resolve("virtio.elf"), Guests.VIRTIO.elf());
        Path image = dir.resolve("disk.qcow2");
        Qcow2Image.create(image, 64L << 20, null, null);
        runUntilKilled(guest, dir.resolve("warm-up.qcow2")); // the JVM's own first-use fds and threads, once
        Set<String> fdsBefore = openFds();
        Set<Long> threadsBefore = liveThreads();

        String description = runUntilKilled(guest, image);
        assertTrue(description.contains("virtio-blk-0"), description);
        assertTrue(description.contains("killed by signal 9"), description);

        awaitThreadsGone(threadsBefore);
        assertEquals(fdsBefore, openFds(), "the VMM's fds after the VM closed");
        ExternalCommand.Result check = QemuImg.img("check", image);
        if (check.status() != 0 && check.status() != 3) { // 3: leaked clusters only
            fail("qemu-img check found corruption (status " + check.status() + "):\n" + check.out() + check.err());
        }
    }

    /** {@return the description of how the VM ended} Kills the block device's JVM once the guest has written a while. */
    private String runUntilKilled(Path guest, Path image) throws Exception {
        if (!Files.exists(image)) {
            Qcow2Image.create(image, 64L << 20, null, null);
        }
        Console console = new Console();
        VirtioMmio disk = VirtioDevices.disk(image);
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(64))
                .kernel(guest)
                .cmdline("virtio.blk_loop")
                .serial(console)
                .sandbox(DeviceSandbox.bubblewrap())
                .device(disk)
                .build()) {
            vm.start();
            assertTrue(console.await("virtio: blk loop 64", GUEST), console.text());
            List<ProcessHandle> jvms = disk.jailed().orElseThrow().process().processes().stream()
                    .filter(process -> process.info().command().orElse("").endsWith("/java"))
                    .toList();
            assertEquals(1, jvms.size(), "one device JVM under bubblewrap: " + jvms);
            jvms.getFirst().destroyForcibly(); // SIGKILL
            ExitStatus status = vm.awaitExit(GUEST).orElseThrow(() -> new AssertionError("the VM did not end"));
            return assertInstanceOf(ExitStatus.Failure.class, status).description();
        }
    }

    private static Set<String> openFds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            Set<String> links = new TreeSet<>();
            for (Path fd : fds.toList()) {
                try {
                    links.add(fd.getFileName() + " -> " + Files.readSymbolicLink(fd));
                } catch (IOException e) {
                    // the listing's own fd, closed by now
                }
            }
            return links;
        }
    }

    private static Set<Long> liveThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .map(Thread::threadId)
                .collect(Collectors.toSet());
    }

    /** The JDK's own pooled threads (the process reaper keeps idle threads a while), which are not the VM's. */
    private static boolean isJdks(Thread thread) {
        return thread.getName().startsWith("process reaper") || thread.getName().startsWith("ForkJoinPool");
    }

    private static void awaitThreadsGone(Set<Long> before) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        Set<String> extra;
        do {
            extra = Thread.getAllStackTraces().keySet().stream()
                    .filter(thread -> !before.contains(thread.threadId()) && !isJdks(thread))
                    .map(Thread::getName)
                    .collect(Collectors.toCollection(TreeSet::new));
            if (extra.isEmpty()) {
                return;
            }
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        fail("threads of the VM still alive after close: " + extra);
    }
}
