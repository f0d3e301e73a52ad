// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.guests.LinuxInits;
import dev.vmm4j.virtio.devices.VirtioBalloon;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.virtio.rng.RngDevice;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One boot of the microvm test kernel with two vCPUs, its root file system on a writable virtio-blk disk (a raw ext4
 * image made by mkfs.ext4), virtio-rng and virtio-balloon, and an /sbin/init that spins without a system call: Linux's
 * own drivers probe vmm4j's devices, mount the root through the block device and start init from it; then the host
 * moves the balloon, and Linux's virtio_balloon driver inflates to the target and deflates again; then the host stops
 * the VM and checks the image with e2fsprogs. Each check is one test over that boot.
 */
@RequiresLinuxKernel
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LinuxWritableRootTest {
    private static final long MEMORY = 256L << 20;
    private static final long BALLOON_TARGET = 64L << 20;

    @TempDir
    static Path dir; // static: a per-class instance gets its @TempDir fields only after @BeforeAll

    private final Console console = new Console();
    private final RngDevice rng = new RngDevice();
    private final VirtioBalloon balloon = VirtioDevices.balloon();
    private Path image;
    private ZonedDateTime started;
    private boolean initStarted;
    private boolean inflated;
    private boolean deflated;
    private ExitStatus status;

    @BeforeAll
    @Timeout(value = 20, unit = TimeUnit.MINUTES) // the boot; a class-level @Timeout would not cover @BeforeAll
    void boot() throws Exception {
        image = RootFileSystem.create(dir.resolve("root.ext4"), LinuxInits.SPIN.elf(), 32);
        started = ZonedDateTime.now().withNano(0);
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(MEMORY)
                .vcpus(2)
                .kernel(LinuxTestKernel.path())
                .cmdline("root=/dev/vda rw")
                .serial(console)
                .device(VirtioDevices.disk(image))
                .device(VirtioMmio.of(rng))
                .device(balloon)
                .build()) {
            vm.start();
            initStarted = console.await("Run /sbin/init as init process", LinuxSuite.BOOT_TIMEOUT);
            if (initStarted) {
                balloon.setTargetBytes(BALLOON_TARGET);
                inflated = LinuxSuite.await(balloon::actualBytes, BALLOON_TARGET, LinuxSuite.DRIVER_TIMEOUT);
                balloon.setTargetBytes(0);
                deflated = inflated && LinuxSuite.await(balloon::actualBytes, 0, LinuxSuite.DRIVER_TIMEOUT);
            }
            vm.stop();
            status = vm.awaitExit();
        }
        LinuxSuite.keepLog(getClass(), console);
    }

    @Test
    void linuxBringsUpBothVcpus() {
        assertTrue(console.text().contains("smp: Brought up 1 node, 2 CPUs"), console.text());
    }

    @Test
    void itsVirtioBlkDriverProbesTheDiskAndMountsTheRootFromIt() {
        LinuxSuite.assertLines(
                console,
                "virtio_blk virtio0: [vda] 65536 512-byte logical blocks",
                "EXT4-fs (vda): mounted filesystem",
                "VFS: Mounted root (ext4 filesystem) on device 254:0.");
    }

    @Test
    void itLoadsInitFromTheDiskAndStaysUp() {
        assertTrue(initStarted, "init never started:\n" + console.text());
        assertInstanceOf(
                ExitStatus.HostStop.class, status, "the host stopped it, nothing else: " + status.description());
        LinuxSuite.assertNoKernelTrouble(console);
    }

    @Test
    void theKernelWroteItsMountIntoTheSuperblockAndLeftTheFileSystemConsistent() throws Exception {
        Map<String, String> superblock = RootFileSystem.superblock(image);
        assertEquals("1", superblock.get("Mount count"), superblock.toString());
        assertEquals("/", superblock.get("Last mounted on"), superblock.toString());
        ZonedDateTime mounted = LocalDateTime.parse(
                        superblock.get("Last mount time").replaceAll(" +", " "),
                        DateTimeFormatter.ofPattern("EEE MMM d HH:mm:ss yyyy", Locale.ENGLISH))
                .atZone(ZoneId.systemDefault());
        // The guest's clock is the CMOS clock, which reads the host's: a minute of slack for rounding and the boot.
        assertTrue(
                !mounted.isBefore(started.minusMinutes(1))
                        && !mounted.isAfter(ZonedDateTime.now().plusMinutes(1)),
                "mounted at " + mounted + ", the VM ran from " + started);
        RootFileSystem.check(image).expect(0);
    }

    @Test
    void itsCrngIsFedByVirtioRng() {
        assertTrue(rng.bytesServed() > 0, "Linux's virtio-rng driver asked for no bytes");
        assertTrue(console.text().contains("random: crng init done"), console.text());
    }

    @Test
    void itsBalloonDriverInflatesToTheTargetAndDeflatesAgain() {
        assertTrue(
                inflated, "the balloon never reached " + BALLOON_TARGET + " bytes; it holds " + balloon.actualBytes());
        assertTrue(deflated, "the balloon never went back to 0; it holds " + balloon.actualBytes());
        assertEquals(List.of(0L, 0L), List.of(balloon.targetBytes(), balloon.actualBytes()));
    }
}
