// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.vm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.arch.x86_64.boot.X86Layout;
import dev.vmm4j.guests.Guests;
import dev.vmm4j.kvm.bindings.boot_params;
import dev.vmm4j.kvm.bindings.setup_header;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.VmBuildException;
import dev.vmm4j.vmm.arch.DeviceAnnouncement;
import dev.vmm4j.vmm.bus.BusDevice;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** VirtualMachine.builder() on /dev/kvm with the guest kit, through X86_64Arch found by ServiceLoader. */
@RequiresKvm
class VirtualMachineTest {
    @TempDir
    Path dir;

    private Path guest(Guests guest) throws IOException {
        return Files.write(dir.resolve(guest.name() + ".elf"), guest.elf());
    }

    private VirtualMachineBuilder builder(Guests guest, ByteArrayOutputStream console) throws IOException {
        return VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(64))
                .kernel(guest(guest))
                .serial(console);
    }

    @Test
    void helloRunsToAGuestReset() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (VirtualMachine vm = builder(Guests.HELLO, console).build()) {
            assertEquals("x86_64", vm.arch().name());
            ExitStatus status = vm.run();
            assertInstanceOf(ExitStatus.GuestReset.class, status);
            assertTrue(status.isClean());
            assertEquals("hello from a vmm4j guest\n", console.toString());
        }
    }

    @Test
    void aGuestThatEntersS5ThroughAcpiPowersTheVmOff() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (VirtualMachine vm = builder(Guests.POWEROFF, console).build()) {
            assertInstanceOf(ExitStatus.GuestPowerOff.class, vm.run(), console.toString());
        }
        String out = console.toString();
        assertTrue(out.contains("poweroff: rsdp at 0xe0000 (zero page says 0xe0000)"), out);
        assertTrue(out.contains("poweroff: hardware-reduced 1, sleep control register at port 0x0600"), out);
        assertTrue(out.contains("poweroff: \\_S5 sleep type 5"), out);
        assertFalse(out.contains("FAIL"), out);
    }

    @Test
    void withDevicesOnTheCommandLineThereAreNoAcpiTables() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (VirtualMachine vm = builder(Guests.POWEROFF, console)
                .deviceAnnouncement(DeviceAnnouncement.KERNEL_COMMAND_LINE)
                .build()) {
            assertInstanceOf(ExitStatus.GuestReset.class, vm.run(), console.toString());
        }
        assertTrue(console.toString().contains("poweroff: FAIL no FADT"), console.toString());
    }

    @Test
    void bootcheckPassesWithTwoVcpus() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (VirtualMachine vm = builder(Guests.BOOTCHECK, console)
                .vcpus(2)
                .cmdline("bootcheck=1")
                .build()) {
            assertInstanceOf(ExitStatus.GuestReset.class, vm.run(), console.toString());
            String out = console.toString();
            assertTrue(out.contains("bootcheck: done"), out);
            assertFalse(out.contains("FAIL"), out);
            // The machine may add the parameters Linux needs on an emulating KVM between its own and the embedder's.
            assertTrue(out.matches("(?s).*cmdline: console=ttyS0 reboot=k panic=-1 (\\S+ )*bootcheck=1\n.*"), out);
        }
    }

    @Test
    void secondVcpuStartsOnInitAndStartupIpi() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (VirtualMachine vm = builder(Guests.SMP, console).vcpus(2).build()) {
            assertInstanceOf(ExitStatus.GuestReset.class, vm.run(), console.toString());
            assertEquals("smp: ap 1 started\n", console.toString());
        }
    }

    @Test
    void tripleFaultIsReportedAsSuch() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (VirtualMachine vm = builder(Guests.TRIPLE_FAULT, console).build()) {
            ExitStatus status = vm.run();
            assertEquals(new ExitStatus.TripleFault(0), status);
            assertEquals("vcpu 0 triple-faulted (KVM shutdown): the guest crashed", status.description());
        }
    }

    @Test
    void hostStopEndsASpinningGuest() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (VirtualMachine vm = builder(Guests.SPIN, console).vcpus(2).build()) {
            vm.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!console.toString().contains("spin: spinning") && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(Optional.empty(), vm.awaitExit(Duration.ofMillis(50)), "it spins until stopped");
            vm.stop();
            assertInstanceOf(ExitStatus.HostStop.class, vm.awaitExit());
        }
    }

    @Test
    void instructionKvmCannotRunIsAnInternalErrorOrACrash() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (VirtualMachine vm = builder(Guests.UNSUPPORTED, console).build()) {
            ExitStatus status = vm.run();
            if (status instanceof ExitStatus.InternalError error) {
                assertTrue(error.rip() >= 0x200000 && error.rip() < 0x210000, status.description());
                assertTrue(status.description().startsWith("KVM internal error"), status.description());
            } else {
                // Hardware KVM runs xgetbv; the guest then resets, or faults without XSAVE and shuts down.
                assertTrue(
                        status instanceof ExitStatus.TripleFault || status instanceof ExitStatus.GuestReset,
                        status.description());
            }
        }
    }

    @Test
    void embedderDevicesAreValidatedAndOverlapsNamed() throws Exception {
        BusDevice nothing = new BusDevice() {
            @Override
            public void read(long offset, MemorySegment data) {}

            @Override
            public void write(long offset, MemorySegment data) {}

            @Override
            public String toString() {
                return "post-code port";
            }
        };
        VmBuildException overlap = assertThrows(
                VmBuildException.class,
                () -> builder(Guests.HELLO, new ByteArrayOutputStream())
                        .ioDevice(nothing, 0x3f8, 1)
                        .build());
        assertTrue(
                overlap.getMessage().startsWith("cannot build the VM: io bus: [0x3f8, 0x3f8] post-code port overlaps"),
                overlap.getMessage());
        assertInstanceOf(IllegalArgumentException.class, overlap.getCause());
        try (VirtualMachine vm = builder(Guests.HELLO, new ByteArrayOutputStream())
                .ioDevice(nothing, 0x80, 1)
                .build()) {
            assertTrue(vm.ioBus().rangeOf(0x80).isPresent());
            for (long port :
                    new long[] {0x3f8, 0x2f8, 0x3e8, 0x2e8, 0x60, 0x64, 0x70, 0x71, 0xed, 0xf0, 0xcf8, 0xcff}) {
                assertTrue(vm.ioBus().rangeOf(port).isPresent(), "a device at port " + Long.toHexString(port));
            }
            assertEquals(
                    "Serial[ttyS1]",
                    vm.ioBus().rangeOf(0x2f8).orElseThrow().device().toString());
        }
    }

    @Test
    void initrdIsLoadedHighAndAnnouncedInTheZeroPage() throws Exception {
        byte[] ramdisk = new byte[100_000];
        for (int i = 0; i < ramdisk.length; i++) {
            ramdisk[i] = (byte) (i * 7);
        }
        Path initrd = Files.write(dir.resolve("initrd"), ramdisk);
        try (VirtualMachine vm = builder(Guests.HELLO, new ByteArrayOutputStream())
                .initrd(initrd)
                .build()) {
            long hdr = X86Layout.ZERO_PAGE + boot_params.hdr$offset();
            long address = Integer.toUnsignedLong(vm.memory().getInt(hdr + setup_header.ramdisk_image$offset()));
            assertEquals(ramdisk.length, vm.memory().getInt(hdr + setup_header.ramdisk_size$offset()));
            assertEquals(0, address % 4096);
            assertTrue(
                    address + ramdisk.length <= 64L << 20 && address > 0x200000, "high, above the kernel: " + address);
            byte[] loaded = new byte[ramdisk.length];
            vm.memory().readFully(address, loaded);
            assertArrayEquals(ramdisk, loaded);
        }
    }

    @Test
    void aKernelThatIsNotOneFailsTheBuildWithTheReasonAndLeaksNothing() throws Exception {
        Path garbage = Files.write(dir.resolve("not-a-kernel"), "#!/bin/sh\necho hi\n".getBytes());
        long fds = openDescriptors();
        VmBuildException e = assertThrows(
                VmBuildException.class,
                () -> VirtualMachine.builder()
                        .memory(VirtualMachineBuilder.MiB(16))
                        .kernel(garbage)
                        .build());
        assertEquals(
                "cannot build the VM: cannot load " + garbage + ": it is neither an ELF vmlinux nor a bzImage",
                e.getMessage());
        assertEquals(fds, openDescriptors(), "the half-built VM was closed");
    }

    @Test
    void aHundredVmsLeakNoDescriptorsAndNoThreads() throws Exception {
        Path hello = guest(Guests.HELLO);
        runHello(hello); // warm up whatever the JVM keeps (class loading, the kick signal's first use)
        long fds = openDescriptors();
        int threads = Thread.activeCount();
        for (int i = 0; i < 100; i++) {
            runHello(hello);
        }
        assertEquals(fds, openDescriptors(), "file descriptors");
        assertEquals(threads, Thread.activeCount(), "threads");
    }

    private static void runHello(Path hello) throws InterruptedException {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(16))
                .kernel(hello)
                .serial(console)
                .build()) {
            assertInstanceOf(ExitStatus.GuestReset.class, vm.run());
        }
    }

    private static long openDescriptors() throws IOException {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}
