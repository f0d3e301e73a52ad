// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.guests.LinuxInits;
import dev.vmm4j.virtio.devices.VirtioBalloon;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.virtio.jail.EntropyFactory;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.virtio.vsock.VsockConfig;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One boot of the microvm test kernel with every device in a jailed device process (crosvm's sandbox): its root file
 * system on a virtio-9p share, a virtio-blk disk, virtio-rng, the balloon and a vsock device, each in its own JVM under
 * bubblewrap with its seccomp filter. Linux's own drivers use all of them from the kernel side: the 9p client mounts
 * the root and loads init from it, virtio_blk probes the disk, the CRNG is fed, virtio_balloon inflates to the host's
 * target and deflates, and virtio_vsock answers the host's connection request.
 */
@RequiresLinuxKernel
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LinuxJailedDevicesTest {
    private static final String TAG = "vmm4jroot";
    private static final long BALLOON_TARGET = 64L << 20;

    @TempDir
    static Path dir; // static: a per-class instance gets its @TempDir fields only after @BeforeAll

    private final Console console = new Console();
    private final VirtioBalloon balloon = VirtioDevices.balloon();
    private List<VirtioMmio> devices;
    private boolean initStarted;
    private boolean inflated;
    private boolean deflated;
    private long entropyServed;
    private List<Long> balloonAtTheEnd;
    private String vsockAnswer;
    private ExitStatus status;

    @BeforeAll
    @Timeout(value = 20, unit = TimeUnit.MINUTES) // the boot; a class-level @Timeout would not cover @BeforeAll
    void boot() throws Exception {
        Path root = Files.createDirectory(dir.resolve("root"));
        Files.createDirectories(root.resolve("sbin"));
        Files.createDirectories(root.resolve("dev"));
        Path init = Files.write(root.resolve("sbin/init"), LinuxInits.SPIN.elf());
        Files.setPosixFilePermissions(init, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path disk = RootFileSystem.create(dir.resolve("data.ext4"), LinuxInits.SPIN.elf(), 32);
        Path vsockSocket = dir.resolve("vm.vsock");
        VirtioMmio share = VirtioDevices.sharedDirectory(root, TAG, false);
        VirtioMmio blk = VirtioDevices.disk(disk);
        VirtioMmio rng = VirtioDevices.rng();
        VirtioMmio vsock = VirtioDevices.vsock(VsockConfig.of(3).withUnixSocket(vsockSocket));
        devices = List.of(share, blk, rng, balloon.mmio(), vsock);
        try (VirtualMachine vm = VirtualMachine.builder()
                .kernel(LinuxTestKernel.path())
                .cmdline("root=" + TAG + " rootfstype=9p rootflags=trans=virtio,version=9p2000.L rw")
                .serial(console)
                .sandbox(DeviceSandbox.bubblewrap())
                .device(share)
                .device(blk)
                .device(rng)
                .device(balloon)
                .device(vsock)
                .build()) {
            vm.start();
            initStarted = console.await("Run /sbin/init as init process", LinuxSuite.BOOT_TIMEOUT);
            if (initStarted) {
                balloon.setTargetBytes(BALLOON_TARGET);
                inflated = LinuxSuite.await(balloon::actualBytes, BALLOON_TARGET, LinuxSuite.DRIVER_TIMEOUT);
                balloon.setTargetBytes(0);
                deflated = inflated && LinuxSuite.await(balloon::actualBytes, 0, LinuxSuite.DRIVER_TIMEOUT);
                vsockAnswer = LinuxSuite.connectThroughUnixSocket(vsockSocket, 1234);
            }
            entropyServed = rng.jailed().orElseThrow().proxy().control(EntropyFactory.BYTES_SERVED, 0);
            balloonAtTheEnd = List.of(balloon.targetBytes(), balloon.actualBytes());
            vm.stop();
            status = vm.awaitExit();
        }
        LinuxSuite.keepLog(getClass(), console);
    }

    @Test
    void everyDeviceRanInADeviceProcess() {
        for (VirtioMmio device : devices) {
            assertTrue(device.jailed().isPresent(), device + " ran in the VMM's process");
        }
    }

    @Test
    void theKernelMountsTheJailedShareAsItsRootAndRunsInitFromIt() {
        assertTrue(initStarted, "init never started:\n" + console.text());
        LinuxSuite.assertLines(
                console, "VFS: Mounted root (9p filesystem) on device", "Run /sbin/init as init process");
        LinuxSuite.assertNoKernelTrouble(console);
        assertInstanceOf(ExitStatus.HostStop.class, status, "the host stopped it, nothing else: " + status);
    }

    @Test
    void itsVirtioBlkDriverProbesTheJailedDisk() {
        LinuxSuite.assertLines(console, "[vda] 65536 512-byte logical blocks");
    }

    @Test
    void itsCrngIsFedByTheJailedVirtioRng() {
        assertTrue(entropyServed > 0, "Linux's virtio-rng driver asked the jailed device for no bytes");
        LinuxSuite.assertLines(console, "random: crng init done");
    }

    @Test
    void itsBalloonDriverInflatesAndDeflatesTheJailedBalloon() {
        assertTrue(inflated, "the balloon never reached " + BALLOON_TARGET + " bytes");
        assertTrue(deflated, "the balloon never went back to 0");
        assertEquals(List.of(0L, 0L), balloonAtTheEnd, "target and actual size before the VM stopped");
    }

    @Test
    void itsVsockDriverRefusesTheHostsConnectionThroughTheJailedDevice() {
        assertEquals("<closed>", vsockAnswer, "a refused CONNECT closes the socket without OK");
    }
}
