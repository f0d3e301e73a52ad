// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.guests.LinuxInits;
import dev.vmm4j.virtio.devices.DiskOption;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.vmm.ExitStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One boot with the root file system mounted {@code ro} from a read-only virtio-blk disk, whose /sbin/init faults: the
 * kernel mounts it read-only, loads init through the device, panics when init dies, and resets; the image's bytes are
 * exactly what they were.
 */
@RequiresLinuxKernel
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LinuxReadOnlyRootTest {
    @TempDir
    static Path dir; // static: a per-class instance gets its @TempDir fields only after @BeforeAll

    private final Console console = new Console();
    private Path image;
    private byte[] before;
    private ExitStatus status;

    @BeforeAll
    @Timeout(value = 20, unit = TimeUnit.MINUTES) // the boot; a class-level @Timeout would not cover @BeforeAll
    void boot() throws Exception {
        image = RootFileSystem.create(dir.resolve("root.ext4"), LinuxInits.FAULT.elf(), 32);
        before = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(image));
        status = LinuxSuite.runToExit("root=/dev/vda ro", VirtioDevices.disk(image, DiskOption.READ_ONLY), console);
        LinuxSuite.keepLog(getClass(), console);
    }

    @Test
    void theKernelMountsTheRootReadOnlyAndRunsItsInit() {
        LinuxSuite.assertLines(
                console,
                "virtio_blk virtio0: [vda] 65536 512-byte logical blocks",
                "VFS: Mounted root (ext4 filesystem) readonly on device 254:0.",
                "Run /sbin/init as init process",
                "Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b");
        assertInstanceOf(ExitStatus.GuestReset.class, status, "expected a reset after the panic:\n" + console.text());
    }

    @Test
    void theKernelFindsTheDiskThroughVmm4jsAcpiTables() {
        LinuxSuite.assertLines(
                console,
                "ACPI: RSDP 0x00000000000E0000 000024 (v02 VMM4J )",
                "ACPI: FACP 0x",
                "ACPI: DSDT 0x",
                "ACPI: APIC 0x",
                "ACPI: Using ACPI (MADT) for SMP configuration information",
                "ACPI: PM: (supports S0 S5)",
                "ACPI: 1 ACPI AML tables successfully acquired and loaded",
                "rtc_cmos 00:04: registered as rtc0"); // the CMOS clock, found in the DSDT with its IRQ
        assertTrue(!console.text().contains("virtio_mmio.device="), "nothing on the command line:\n" + console.text());
    }

    @Test
    void theImageIsByteForByteWhatItWas() throws Exception {
        assertArrayEquals(before, MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(image)));
    }
}
