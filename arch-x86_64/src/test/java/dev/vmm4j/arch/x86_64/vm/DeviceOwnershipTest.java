// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vmm4j.arch.x86_64.vm.BuilderTest.CountingDevice;
import dev.vmm4j.guests.Guests;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.VmBuildException;
import dev.vmm4j.vmm.devices.DeviceContext;
import dev.vmm4j.vmm.devices.VmDevice;
import dev.vmm4j.vmm.testing.Leaks;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who closes a device given to the builder, on KVM: the VM when it is closed (and not before); {@code build()} when it
 * fails, whether the devices were attached or not; and nothing is left open either way.
 */
@RequiresKvm
class DeviceOwnershipTest {
    @TempDir
    Path dir;

    private VirtualMachineBuilder hello() throws IOException {
        Path guest = Files.write(dir.resolve("hello.elf"), Guests.HELLO.elf());
        return VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(16))
                .kernel(guest)
                .serial(new ByteArrayOutputStream());
    }

    /** A device whose attach fails with {@code failure}, and that counts its closes. */
    static final class FailingDevice implements VmDevice {
        final IOException failure;
        int closed;

        FailingDevice(String message) {
            this.failure = new IOException(message);
        }

        @Override
        public void attach(DeviceContext context) throws IOException {
            throw failure;
        }

        @Override
        public void close() {
            closed++;
        }
    }

    @Test
    void theVmClosesItsDevicesWhenItIsClosedAndNotBefore() throws Exception {
        CountingDevice first = new CountingDevice("first");
        CountingDevice second = new CountingDevice("second");
        long fds = Leaks.openDescriptors();
        try (VirtualMachine vm = hello().device(first).device(second).build()) {
            assertEquals(1, first.attached.get());
            assertEquals(1, second.attached.get());
            assertEquals(ExitStatus.GuestReset.class, vm.run().getClass());
            assertEquals(
                    0, first.closed.get() + second.closed.get(), "a VM that ended still owns its devices until closed");
            vm.close();
            vm.close();
        }
        assertEquals(1, first.closed.get(), "closed once");
        assertEquals(1, second.closed.get(), "closed once");
        assertEquals(fds, Leaks.openDescriptors());
    }

    @Test
    void aBuildThatFailsBeforeAttachingClosesEveryDevice() throws Exception {
        CountingDevice device = new CountingDevice("never attached");
        long fds = Leaks.openDescriptors();
        VmBuildException e = assertThrows(
                VmBuildException.class,
                () -> hello().vcpus(100_000).device(device).build());
        assertEquals(
                "cannot build the VM: 100000 vCPUs asked for, KVM on this host allows " + maxVcpus(), e.getMessage());
        assertEquals(0, device.attached.get());
        assertEquals(1, device.closed.get());
        assertEquals(fds, Leaks.openDescriptors());
    }

    @Test
    void aBuildThatFailsAfterAttachingClosesEveryDeviceAndNamesEveryFailure() throws Exception {
        CountingDevice attached = new CountingDevice("attached");
        FailingDevice locked = new FailingDevice("disk a.img is in use by another VM");
        FailingDevice missing = new FailingDevice("disk b.img: no such file");
        CountingDevice after = new CountingDevice("after");
        long fds = Leaks.openDescriptors();
        VmBuildException e = assertThrows(
                VmBuildException.class,
                () -> hello().device(attached)
                        .device(locked)
                        .device(missing)
                        .device(after)
                        .build());
        assertEquals(List.of("disk a.img is in use by another VM", "disk b.img: no such file"), e.problems());
        assertSame(locked.failure, e.getCause());
        assertSame(missing.failure, e.getCause().getSuppressed()[0]);
        assertEquals(1, attached.attached.get());
        assertEquals(1, after.attached.get(), "every device is tried, so that every problem is reported");
        assertEquals(
                List.of(1, 1, 1, 1), List.of(attached.closed.get(), locked.closed, missing.closed, after.closed.get()));
        assertEquals(fds, Leaks.openDescriptors());
    }

    @Test
    void aKernelThatCannotBeLoadedClosesTheAttachedDevices() throws Exception {
        CountingDevice device = new CountingDevice("attached");
        Path garbage = Files.write(dir.resolve("garbage"), new byte[] {1, 2, 3});
        assertThrows(
                VmBuildException.class,
                () -> VirtualMachine.builder().kernel(garbage).device(device).build());
        assertEquals(1, device.attached.get());
        assertEquals(1, device.closed.get());
    }

    private static int maxVcpus() {
        try (var kvm = dev.vmm4j.vmm.kvm.Kvm.open()) {
            return kvm.maxVcpus();
        }
    }
}
