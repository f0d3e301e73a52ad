// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.arch.x86_64.X86_64Arch;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.VmBuildException;
import dev.vmm4j.vmm.arch.DeviceAnnouncement;
import dev.vmm4j.vmm.devices.DeviceContext;
import dev.vmm4j.vmm.devices.VmDevice;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** The builder's rules, checked before KVM is touched (the ones that need KVM are in {@link DeviceOwnershipTest}). */
class BuilderTest {
    /** A device that counts how often it is attached and closed, and may report configuration problems. */
    static final class CountingDevice implements VmDevice {
        final String name;
        final List<String> problems;
        final AtomicInteger attached = new AtomicInteger();
        final AtomicInteger closed = new AtomicInteger();

        CountingDevice(String name, String... problems) {
            this.name = name;
            this.problems = List.of(problems);
        }

        @Override
        public List<String> checkConfiguration() {
            return problems;
        }

        @Override
        public void attach(DeviceContext context) {
            attached.incrementAndGet();
        }

        @Override
        public void close() {
            closed.incrementAndGet();
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @Test
    void everyProblemIsReportedInOneExceptionAndTheDevicesAreClosed() {
        CountingDevice fine = new CountingDevice("fine");
        CountingDevice broken = new CountingDevice("broken", "broken's file is missing");
        VmBuildException e = assertThrows(
                VmBuildException.class,
                () -> VirtualMachine.builder()
                        .initrd(Path.of("/nonexistent/initrd"))
                        .device(fine)
                        .device(broken)
                        .build());
        assertEquals(
                "cannot build the VM: no kernel: call kernel(path); initrd /nonexistent/initrd is not a readable file;"
                        + " broken's file is missing",
                e.getMessage());
        assertEquals(
                List.of(
                        "no kernel: call kernel(path)",
                        "initrd /nonexistent/initrd is not a readable file",
                        "broken's file is missing"),
                e.problems());
        assertNull(e.getCause(), "nothing failed: the configuration is wrong");
        for (CountingDevice device : List.of(fine, broken)) {
            assertEquals(0, device.attached.get(), device.name);
            assertEquals(
                    1, device.closed.get(), device.name + ": the builder owned it, and closed it as the build failed");
        }
    }

    @Test
    void settersCheckTheirValuesAtOnce() {
        VirtualMachineBuilder builder = VirtualMachine.builder();
        assertEquals(
                "memory must be a multiple of 4 KiB and at least 16 MiB, got 1000 bytes",
                assertThrows(IllegalArgumentException.class, () -> builder.memory(1000))
                        .getMessage());
        assertThrows(IllegalArgumentException.class, () -> builder.vcpus(0));
        assertThrows(NullPointerException.class, () -> builder.kernel(null));
        assertThrows(NullPointerException.class, () -> builder.device(null));
        assertEquals("VirtualMachineBuilder[]", builder.toString(), "a refused value is not set");
    }

    @Test
    void devicesAreNeverAnnouncedBothWays() throws Exception {
        // Checked with the rest of the configuration, before KVM is opened (the kernel's absence is another problem).
        VmBuildException e = assertThrows(
                VmBuildException.class,
                () -> VirtualMachine.builder()
                        .kernel(Path.of("/no/such/vmlinux"))
                        .cmdline("virtio_mmio.device=4K@0xd0000000:5")
                        .build());
        assertTrue(e.getMessage().contains("Linux would probe each twice"), e.getMessage());
    }

    @Test
    void everyOneValueOptionMaySetOnceAndTheSecondCallNamesTheFirstValue() {
        Map<String, Consumer<VirtualMachineBuilder>> options = Map.of(
                "memory was already set to 33554432",
                b -> b.memory(32L << 20),
                "vcpus was already set to 2",
                b -> b.vcpus(2),
                "kernel was already set to /a",
                b -> b.kernel(Path.of("/a")),
                "initrd was already set to /i",
                b -> b.initrd(Path.of("/i")),
                "cmdline was already set to \"quiet\"",
                b -> b.cmdline("quiet"),
                "arch was already set to x86_64",
                b -> b.arch(new X86_64Arch()),
                "hostDecompression was already set to false",
                b -> b.hostDecompression(false),
                "deviceAnnouncement was already set to KERNEL_COMMAND_LINE",
                b -> b.deviceAnnouncement(DeviceAnnouncement.KERNEL_COMMAND_LINE));
        options.forEach((message, set) -> {
            VirtualMachineBuilder builder = VirtualMachine.builder();
            set.accept(builder);
            assertEquals(
                    message,
                    assertThrows(IllegalStateException.class, () -> set.accept(builder))
                            .getMessage());
        });
        VirtualMachineBuilder streams = VirtualMachine.builder()
                .serial(new ByteArrayOutputStream())
                .serialInput(new ByteArrayInputStream(new byte[0]))
                .cpuid(UnaryOperator.identity());
        assertThrows(IllegalStateException.class, () -> streams.serial(new ByteArrayOutputStream()));
        assertThrows(IllegalStateException.class, () -> streams.serialInput(new ByteArrayInputStream(new byte[0])));
        assertThrows(IllegalStateException.class, () -> streams.cpuid(UnaryOperator.identity()));
    }

    @Test
    void aBuilderBuildsOnce() {
        VirtualMachineBuilder builder = VirtualMachine.builder();
        assertThrows(VmBuildException.class, builder::build); // no kernel
        VmBuildException again = assertThrows(VmBuildException.class, builder::build);
        assertEquals(
                "cannot build the VM: this builder already built a VM; builders are single-use, because the devices"
                        + " given to them become the VM's",
                again.getMessage());
    }

    @Test
    void toStringListsWhatWasSetAndTheDevicesInOrder() {
        VirtualMachineBuilder builder = VirtualMachine.builder()
                .vcpus(2)
                .kernel(Path.of("/a"))
                .device(new CountingDevice("disk a"))
                .device(new CountingDevice("rng"));
        assertEquals("VirtualMachineBuilder[vcpus=2, kernel=/a, device=disk a, device=rng]", builder.toString());
    }
}
