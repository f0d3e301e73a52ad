// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.linux;

import static dev.vmm4j.virtio.p9.P9Messages.TATTACH;
import static dev.vmm4j.virtio.p9.P9Messages.TGETATTR;
import static dev.vmm4j.virtio.p9.P9Messages.TLOPEN;
import static dev.vmm4j.virtio.p9.P9Messages.TREAD;
import static dev.vmm4j.virtio.p9.P9Messages.TVERSION;
import static dev.vmm4j.virtio.p9.P9Messages.TWALK;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.guests.LinuxInits;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.virtio.p9.P9Device;
import dev.vmm4j.virtio.p9.P9Server;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two boots with a host directory as the root file system over virtio-9p ({@code root=TAG rootfstype=9p}), shared
 * read-write and read-only, each holding a syscall-free /sbin/init: Linux's 9p client mounts it through vmm4j's server
 * and loads init from it (walk, getattr, lopen, read), which the server's request counts show from the host.
 */
@RequiresLinuxKernel
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LinuxNinePRootTest {
    private static final String TAG = "vmm4jroot";
    /** After init starts: how long a failed exec would take to show as a panic on this emulating KVM. */
    private static final Duration SETTLE = Duration.ofSeconds(15);

    private static final int[] LOADING_INIT = {TVERSION, TATTACH, TWALK, TGETATTR, TLOPEN, TREAD};

    @TempDir
    static Path dir; // static: a per-class instance gets its @TempDir fields only after @BeforeAll

    /** What one boot showed. */
    private record Boot(Console console, Map<Integer, Long> counts, boolean initStarted, ExitStatus status) {}

    private Boot writable;
    private Boot readOnly;

    @BeforeAll
    @Timeout(value = 30, unit = TimeUnit.MINUTES) // the boots; a class-level @Timeout would not cover @BeforeAll
    void boot() throws Exception {
        writable = boot("rw", false);
        LinuxSuite.keepLog(getClass(), writable.console());
        readOnly = boot("ro", true);
        Files.writeString(
                Path.of("target", "linux-guest-suite", getClass().getSimpleName() + "-ro.log"),
                readOnly.console().text());
    }

    private static Boot boot(String name, boolean readOnlyShare) throws Exception {
        Path root = Files.createDirectory(dir.resolve(name));
        Files.createDirectories(root.resolve("sbin"));
        Files.createDirectories(root.resolve("dev"));
        Path init = Files.write(root.resolve("sbin/init"), LinuxInits.SPIN.elf());
        Files.setPosixFilePermissions(init, PosixFilePermissions.fromString("rwxr-xr-x"));
        Console console = new Console();
        Map<Integer, Long> counts = new TreeMap<>();
        VirtioMmio share = VirtioDevices.sharedDirectory(root, TAG, readOnlyShare);
        boolean initStarted;
        ExitStatus status;
        try (VirtualMachine vm = VirtualMachine.builder()
                .kernel(LinuxTestKernel.path())
                .cmdline("root=" + TAG + " rootfstype=9p rootflags=trans=virtio,version=9p2000.L " + name)
                .serial(console)
                .device(share)
                .build()) {
            vm.start();
            P9Server server = ((P9Device) share.device()).server();
            initStarted = console.await("Run /sbin/init as init process", LinuxSuite.BOOT_TIMEOUT);
            if (initStarted) {
                long deadline = System.nanoTime() + LinuxSuite.DRIVER_TIMEOUT.toNanos();
                while (server.requestCount(TREAD) == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                Thread.sleep(SETTLE.toMillis());
            }
            for (int type : LOADING_INIT) {
                counts.put(type, server.requestCount(type));
            }
            vm.stop();
            status = vm.awaitExit();
        }
        return new Boot(console, counts, initStarted, status);
    }

    @Test
    void theKernelMountsAWritableShareAsItsRootAndRunsInitFromIt() {
        assertRanInit(writable);
        LinuxSuite.assertLines(writable.console(), "VFS: Mounted root (9p filesystem) on device");
    }

    @Test
    void theKernelMountsAReadOnlyShareReadOnlyAndRunsInitFromIt() {
        assertRanInit(readOnly);
        LinuxSuite.assertLines(readOnly.console(), "VFS: Mounted root (9p filesystem) readonly on device");
    }

    private static void assertRanInit(Boot boot) {
        assertTrue(boot.initStarted(), "init never started:\n" + boot.console().text());
        LinuxSuite.assertLines(boot.console(), "Run /sbin/init as init process");
        LinuxSuite.assertNoKernelTrouble(boot.console());
        assertInstanceOf(
                ExitStatus.HostStop.class,
                boot.status(),
                "the host stopped it, nothing else: " + boot.status().description());
    }

    @Test
    void theServerSawTheClientWalkStatOpenAndReadInit() {
        for (Boot boot : new Boot[] {writable, readOnly}) {
            for (int type : LOADING_INIT) {
                assertTrue(boot.counts().get(type) > 0, "no T-message of type " + type + ": " + boot.counts());
            }
        }
    }
}
