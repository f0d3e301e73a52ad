// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.guests.Guests;
import dev.vmm4j.virtio.ActivationException;
import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.virtio.QueueHandler;
import dev.vmm4j.virtio.ServedQueues;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.block.DiskImage;
import dev.vmm4j.virtio.block.DiskImages;
import dev.vmm4j.virtio.block.Qcow2Image;
import dev.vmm4j.virtio.devices.DiskOption;
import dev.vmm4j.virtio.devices.VirtioBalloon;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.VmBuildException;
import dev.vmm4j.vmm.VmStatus;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * virtio-blk and virtio-rng end to end on /dev/kvm: the guest kit's polling virtio-mmio driver finds the devices on
 * the command line vmm4j wrote, notifies through the ioeventfds, and reads and writes a raw image whose contents the
 * host checks afterwards.
 */
@RequiresKvm
class VirtioVmTest {
    private static final int SECTORS = 32;

    @TempDir
    Path dir;

    /** {@return a VM builder; {@link SandboxedVirtioVmTest} runs every test here with the devices in processes} */
    VirtualMachineBuilder newBuilder() {
        return VirtualMachine.builder();
    }

    /** Checks that {@code device} ran where this class runs devices: here, in the VMM's process. */
    void assertRanWhereExpected(VirtioMmio device) {
        assertTrue(device.jailed().isEmpty(), device + " ran in a device process");
    }

    private VirtualMachineBuilder builder(ByteArrayOutputStream console) throws Exception {
        Path guest = Files.write(dir.resolve("virtio.elf"), Guests.VIRTIO.elf());
        return newBuilder().memory(VirtualMachineBuilder.MiB(64)).kernel(guest).serial(console);
    }

    private Path image() throws Exception {
        byte[] bytes = new byte[SECTORS * 512];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i * 13 + 5);
        }
        return Files.write(dir.resolve("disk.img"), bytes);
    }

    @Test
    void guestReadsWritesAndFlushesARawDiskAndReadsRandomBytes() throws Exception {
        Path image = image();
        byte[] original = Files.readAllBytes(image);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VirtioMmio disk = VirtioDevices.disk(image);
        VirtioMmio rng = VirtioDevices.rng();
        try (VirtualMachine vm = builder(console).device(disk).device(rng).build()) {
            assertInstanceOf(ExitStatus.GuestReset.class, vm.run(), console.toString());
            assertRanWhereExpected(disk);
            assertRanWhereExpected(rng);
        }
        String out = console.toString();
        assertTrue(out.contains("virtio: done"), out);
        assertTrue(out.contains("virtio: 2 devices"), out);
        assertTrue(
                out.contains("virtio: device 2 at 0xd0000000 irq 5"),
                "the block device got the first window and IRQ:\n" + out);
        assertTrue(out.contains("virtio: device 4 at 0xd0001000 irq 6"), out);
        assertTrue(out.contains("virtio: blk capacity " + SECTORS + " sectors"), out);
        assertTrue(out.contains("virtio: blk id disk.img"), out);
        assertTrue(out.contains("virtio: blk sector 0 starts " + HexFormat.of().formatHex(original, 0, 16)), out);
        assertTrue(out.contains("virtio: blk read past the end: status 1"), "VIRTIO_BLK_S_IOERR:\n" + out);
        assertTrue(
                out.contains("virtio: interrupt status 1, after ack 0"), "the irqfd path set InterruptStatus:\n" + out);

        byte[] expected = original.clone();
        for (int i = 0; i < 1024; i++) {
            expected[i] = (byte) ~expected[i];
        }
        assertArrayEquals(expected, Files.readAllBytes(image), "sectors 0-1 inverted, the rest untouched");

        Matcher random = Pattern.compile("virtio: rng ([0-9a-f]{32})").matcher(out);
        assertTrue(random.find(), out);
        assertNotEquals("0".repeat(32), random.group(1));
    }

    @Test
    void guestReadsWritesAndFlushesAQcow2Disk() throws Exception {
        Path image = dir.resolve("disk.qcow2");
        Qcow2Image.create(image, SECTORS * 512L, null, null);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (VirtualMachine vm =
                builder(console).device(VirtioDevices.disk(image)).build()) {
            assertInstanceOf(ExitStatus.GuestReset.class, vm.run(), console.toString());
        }
        String out = console.toString();
        assertTrue(out.contains("virtio: blk capacity " + SECTORS + " sectors"), out);
        assertTrue(
                out.contains("virtio: blk sector 0 starts " + "00".repeat(16)), "a new image reads as zeros:\n" + out);
        assertTrue(out.contains("virtio: blk wrote sectors 0-1 inverted"), out);
        assertTrue(out.contains("virtio: done"), out);
        byte[] expected = new byte[1024];
        java.util.Arrays.fill(expected, (byte) 0xff);
        try (DiskImage written = DiskImages.open(image, true)) {
            byte[] sectors = new byte[1024];
            written.read(0, MemorySegment.ofArray(sectors));
            assertArrayEquals(expected, sectors, "the image holds the guest's write (zeros inverted)");
        }
    }

    @Test
    void aQcow2OverlayReadsItsBackingFileInAnotherDirectory() throws Exception {
        Path base = Files.createDirectory(dir.resolve("base"));
        Path overlays = Files.createDirectory(dir.resolve("overlays"));
        byte[] original = Files.readAllBytes(image());
        Files.write(base.resolve("base.img"), original);
        Path overlay = overlays.resolve("overlay.qcow2");
        Qcow2Image.create(overlay, SECTORS * 512L, Path.of("../base/base.img"), "raw");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VirtioMmio disk = VirtioDevices.disk(overlay);
        try (VirtualMachine vm = builder(console).device(disk).build()) {
            assertInstanceOf(ExitStatus.GuestReset.class, vm.run(), console.toString());
            assertRanWhereExpected(disk);
        }
        String out = console.toString();
        assertTrue(
                out.contains("virtio: blk sector 0 starts " + HexFormat.of().formatHex(original, 0, 16)),
                "the guest read the backing file through the overlay:\n" + out);
        assertTrue(out.contains("virtio: done"), out);
        assertArrayEquals(original, Files.readAllBytes(base.resolve("base.img")), "the backing file is untouched");
    }

    @Test
    void readOnlyDiskKeepsItsContents() throws Exception {
        Path image = image();
        byte[] original = Files.readAllBytes(image);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (VirtualMachine vm = builder(console)
                .device(VirtioDevices.disk(image, DiskOption.READ_ONLY))
                .build()) {
            assertInstanceOf(ExitStatus.GuestReset.class, vm.run(), console.toString());
        }
        String out = console.toString();
        assertTrue(out.contains("virtio: FAIL blk write"), "the guest's write fails with IOERR:\n" + out);
        assertArrayEquals(original, Files.readAllBytes(image));
    }

    /** A device written outside vmm4j's packages: an "entropy" source that answers with a fixed pattern. */
    static final class PatternDevice implements VirtioDevice {
        private final ServedQueues served = new ServedQueues();

        @Override
        public int deviceType() {
            return VirtioIds.RNG; // the guest's driver knows rng; what it reads is up to us
        }

        @Override
        public long deviceFeatures() {
            return 0;
        }

        @Override
        public List<Integer> queueMaxSizes() {
            return List.of(16);
        }

        @Override
        public void readConfig(long offset, MemorySegment data) {
            data.fill((byte) 0);
        }

        @Override
        public void activate(DeviceActivation activation) throws ActivationException {
            if (!activation.queues().getFirst().isActive()) {
                throw new ActivationException("queue 0 is not set up");
            }
            served.serve(activation.eventLoop(), QueueHandler.forQueue("pattern", activation, 0, chain -> {
                byte[] pattern = new byte[(int) Math.min(chain.writableBytes(), 4096)];
                for (int i = 0; i < pattern.length; i++) {
                    pattern[i] = (byte) (0xa0 + i);
                }
                chain.writeWritable(0, MemorySegment.ofArray(pattern));
                return pattern.length;
            }));
        }

        @Override
        public void reset() {
            served.stop();
        }
    }

    @Test
    void aDeviceOfYourOwnPlugsInTheSameWay() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VirtioMmio device = VirtioMmio.of(new PatternDevice());
        try (VirtualMachine vm = builder(console).device(device).build()) {
            assertEquals(0xd000_0000L, device.node().base());
            assertInstanceOf(ExitStatus.GuestReset.class, vm.run(), console.toString());
        }
        assertTrue(console.toString().contains("virtio: rng a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"), console.toString());
    }

    @Test
    void theBalloonAndStatusAreJavaApi() throws Exception {
        Path demo = Files.write(dir.resolve("demo.elf"), Guests.DEMO.elf());
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VirtioBalloon balloon = VirtioDevices.balloon();
        assertThrows(
                IllegalStateException.class, () -> balloon.setTargetBytes(1), "no balloon device before the build");
        try (VirtualMachine vm = newBuilder()
                .memory(VirtualMachineBuilder.MiB(64))
                .kernel(demo)
                .serial(console)
                .device(balloon)
                .build()) {
            VmStatus before = vm.status();
            assertEquals(VmStatus.State.CREATED, before.state());
            assertEquals(64L << 20, before.memoryBytes());
            assertEquals(0L, balloon.targetBytes());
            balloon.setTargetBytes(1 << 20);
            assertInstanceOf(ExitStatus.GuestReset.class, vm.run(), console.toString());
            VmStatus after = vm.status();
            assertEquals(VmStatus.State.ENDED, after.state());
            assertInstanceOf(ExitStatus.GuestReset.class, after.exitStatus().orElseThrow());
            assertEquals(1L << 20, balloon.targetBytes());
            assertRanWhereExpected(balloon.mmio());
        }
        assertTrue(console.toString().contains("virtio-balloon at 0xd0000000 irq 5"), console.toString());
        assertTrue(
                console.toString().contains("balloon: target 256 pages"),
                "the guest read the target the host set:\n" + console);
    }

    @Test
    void aDiskInUseByAnotherVmFailsTheBuild() throws Exception {
        Path image = image();
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (VirtualMachine first =
                builder(console).device(VirtioDevices.disk(image)).build()) {
            assertEquals(1, first.mmioBus().ranges().size());
            VmBuildException e = assertThrows(
                    VmBuildException.class,
                    () -> builder(console).device(VirtioDevices.disk(image)).build());
            assertTrue(e.getMessage().contains("disk.img is in use"), e.getMessage());
            assertInstanceOf(IOException.class, e.getCause(), "the cause is kept");
        }
        try (VirtualMachine again =
                builder(console).device(VirtioDevices.disk(image)).build()) {
            assertEquals(1, again.mmioBus().ranges().size(), "closing the first VM released the lock");
        }
    }
}
