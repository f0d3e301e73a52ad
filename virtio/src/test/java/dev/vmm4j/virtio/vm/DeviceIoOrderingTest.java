// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.guests.Guests;
import dev.vmm4j.virtio.block.BlockDevice;
import dev.vmm4j.virtio.block.RawDiskImage;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.virtio.testing.ForwardingVirtioDevice;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.bus.BusDevice;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a disk transfer in flight must and must not hold up, on KVM: a device reset on one vCPU waits for it, but the
 * other vCPU's exits (to the same device and to a port) go on; and closing the VM waits for it before guest memory is
 * unmapped.
 */
@RequiresKvm
class DeviceIoOrderingTest {
    @TempDir
    Path dir;

    private Path image() throws Exception {
        byte[] bytes = new byte[64 * 512];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i * 7);
        }
        return Files.write(dir.resolve("disk.img"), bytes);
    }

    /** A block device that says when the transport starts resetting it. */
    static final class ResetObserved extends ForwardingVirtioDevice {
        final CountDownLatch resetEntered = new CountDownLatch(1);

        ResetObserved(BlockDevice block) {
            super(block);
        }

        @Override
        public void reset() {
            resetEntered.countDown();
            super.reset();
        }
    }

    /** Counts the guest's writes to its port. */
    static final class PortCounter implements BusDevice {
        final AtomicLong writes = new AtomicLong();

        @Override
        public void read(long offset, MemorySegment data) {}

        @Override
        public void write(long offset, MemorySegment data) {
            writes.incrementAndGet();
        }
    }

    @Test
    void aResetWaitingForTheDiskStallsNoOtherVcpu() throws Exception {
        AtomicBoolean release = new AtomicBoolean();
        BlockingImage image = new BlockingImage(RawDiskImage.open(image(), false), release::get);
        ResetObserved device = new ResetObserved(new BlockDevice(image, "slow"));
        PortCounter port = new PortCounter();
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Path guest = Files.write(dir.resolve("guest.elf"), Guests.RESET_DURING_IO.elf());
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(64))
                .vcpus(2)
                .kernel(guest)
                .serial(console)
                .device(VirtioMmio.of(device))
                .ioDevice(port, 0x80, 1)
                .build()) {
            image.onEntered = () -> putMailbox(vm, 1); // the guest resets the device once its read is at the image
            vm.start();
            await(image.entered, "the guest's read reached the image", console);
            await(device.resetEntered, "vCPU 0 reset the device while the read waits", console);
            // vCPU 0 now waits in the reset for the disk. vCPU 1 reads the same device's InterruptStatus (an MMIO exit
            // to the transport vCPU 0 is resetting) and writes port 0x80, again and again: it must go on meanwhile.
            long before = port.writes.get();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (port.writes.get() < before + 500 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertTrue(
                    port.writes.get() >= before + 500,
                    "vCPU 1 stalled behind the reset: " + (port.writes.get() - before)
                            + " port writes while it waited\n" + console);
            assertEquals(1, image.finished.getCount(), "and the read was still in flight all along");
            release.set(true);
            ExitStatus status =
                    vm.awaitExit(Duration.ofSeconds(60)).orElseThrow(() -> new AssertionError("no exit\n" + console));
            assertInstanceOf(ExitStatus.GuestReset.class, status, console.toString());
        }
        assertNull(image.failure);
        assertTrue(console.toString().contains("reset_during_io: reset done, status 0"), console.toString());
    }

    @Test
    void closingTheVmWaitsForATransferInFlightBeforeUnmappingMemory() throws Exception {
        AtomicReference<VirtualMachine> machine = new AtomicReference<>();
        // The read goes on only once close() has begun (it stops the VM first), so it runs while close() is under way.
        BlockingImage image = new BlockingImage(
                RawDiskImage.open(image(), false),
                () -> machine.get() != null && machine.get().exitStatus().isPresent());
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Path guest = Files.write(dir.resolve("virtio.elf"), Guests.VIRTIO.elf());
        VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(64))
                .kernel(guest)
                .serial(console)
                .device(VirtioMmio.of(new BlockDevice(image, "slow")))
                .build();
        machine.set(vm);
        vm.start();
        await(image.entered, "the guest's read reached the image", console);
        vm.close();
        // close() joined the device's loop thread, whose read ends (finally) before the thread does.
        assertEquals(0, image.finished.getCount(), "close() returned only after the transfer finished");
        assertNull(image.failure, "the transfer into guest memory went through: memory was still mapped");
        assertInstanceOf(ExitStatus.HostStop.class, vm.exitStatus().orElseThrow());
    }

    private static void putMailbox(VirtualMachine vm, int value) {
        try {
            vm.memory().putIntVolatile(Guests.MAILBOX, value);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void await(CountDownLatch latch, String what, ByteArrayOutputStream console)
            throws InterruptedException {
        assertTrue(latch.await(60, TimeUnit.SECONDS), "never happened: " + what + "\n" + console);
    }
}
