// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.guests.LinuxInits;
import dev.vmm4j.virtio.devices.DiskOption;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.arch.DeviceAnnouncement;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One boot with the root file system on a writable qcow2 image (qemu-img made it from an ext4 image) and an
 * /sbin/init that faults at once: the kernel mounts the root through vmm4j's qcow2 code, loads init from it, kills it,
 * panics, and with panic=-1 reboot=k resets the machine, which ends the VM as a guest reset. qemu-img then finds the
 * image consistent, and the ext4 inside it carries the mount the kernel wrote.
 */
@RequiresLinuxKernel
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LinuxPanicOnQcow2RootTest {
    @TempDir
    static Path dir; // static: a per-class instance gets its @TempDir fields only after @BeforeAll

    private final Console console = new Console();
    private Path qcow2;
    private ExitStatus status;

    @BeforeAll
    @Timeout(value = 20, unit = TimeUnit.MINUTES) // the boot; a class-level @Timeout would not cover @BeforeAll
    void boot() throws Exception {
        Path raw = RootFileSystem.create(dir.resolve("root.ext4"), LinuxInits.FAULT.elf(), 32);
        qcow2 = dir.resolve("root.qcow2");
        RootFileSystem.qemuImg("convert", "-f", "raw", "-O", "qcow2", raw.toString(), qcow2.toString())
                .expect(0);
        // The one boot that announces its disk on the command line, as for kernels without ACPI.
        status = LinuxSuite.runToExit(
                "root=/dev/vda rw",
                VirtioDevices.disk(qcow2, DiskOption.QCOW2),
                console,
                DeviceAnnouncement.KERNEL_COMMAND_LINE);
        LinuxSuite.keepLog(getClass(), console);
    }

    @Test
    void theKernelMountsTheQcow2RootAndRunsItsInit() {
        LinuxSuite.assertLines(
                console,
                "virtio_blk virtio0: [vda] 65536 512-byte logical blocks",
                "VFS: Mounted root (ext4 filesystem) on device 254:0.",
                "Run /sbin/init as init process");
    }

    @Test
    void theDiskWasAnnouncedOnTheCommandLineAndNotInAcpiTables() {
        LinuxSuite.assertLines(console, "virtio_mmio.device=4K@0xd0000000:5");
        assertTrue(!console.text().contains("ACPI: DSDT"), "no ACPI tables in this boot:\n" + console.text());
    }

    @Test
    void aFaultingInitPanicsTheKernelAndResetsTheMachine() {
        LinuxSuite.assertLines(console, "Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b");
        assertInstanceOf(ExitStatus.GuestReset.class, status, "expected a reset after the panic:\n" + console.text());
    }

    @Test
    void qemuImgFindsTheImageConsistentAndTheMountInIt() throws Exception {
        assertTrue(RootFileSystem.qemuImg("check", qcow2.toString())
                .expect(0)
                .out()
                .contains("No errors were found"));
        Path back = dir.resolve("back.ext4");
        RootFileSystem.qemuImg("convert", "-O", "raw", qcow2.toString(), back.toString())
                .expect(0);
        assertEquals("1", RootFileSystem.superblock(back).get("Mount count"), "the kernel's write went into the qcow2");
        RootFileSystem.check(back).expect(0);
    }
}
