// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vmm4j.vmm.arch.BootSpec;
import dev.vmm4j.vmm.arch.DeviceAnnouncement;
import dev.vmm4j.vmm.devices.DeviceNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** How the x86_64 machine tells Linux of the devices the VM's devices announced: on the kernel command line. */
class CommandLineDevicesTest {
    @Test
    void virtioMmioWindowsBecomeCommandLineParameters() {
        assertEquals(
                "virtio_mmio.device=4K@0xd0000000:5",
                CommandLineDevices.parameter(new DeviceNode.Mmio("virtio,mmio", 0xd000_0000L, 0x1000, 5)));
        assertEquals(
                "virtio_mmio.device=2M@0xd0200000:23",
                CommandLineDevices.parameter(new DeviceNode.Mmio("virtio,mmio", 0xd020_0000L, 2 << 20, 23)));
    }

    @Test
    void aDeviceLinuxCannotBeToldOfOnTheCommandLineIsRefusedByName() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> CommandLineDevices.parameter(new DeviceNode.Mmio("vendor,my-uart", 0xd000_0000L, 0x1000, 5)));
        assertEquals(
                "an x86 guest cannot be told of the \"vendor,my-uart\" device at 0xd0000000: Linux finds MMIO devices"
                        + " on its command line only for \"virtio,mmio\"",
                e.getMessage());
    }

    @Test
    void theCommandLineIsTheMachinesThenTheDevicesThenTheEmbeddersParameters() {
        BootSpec spec = new BootSpec(
                Path.of("vmlinux"),
                Optional.empty(),
                "root=/dev/vda",
                true,
                UnaryOperator.identity(),
                DeviceAnnouncement.KERNEL_COMMAND_LINE);
        List<DeviceNode> devices = List.of(new DeviceNode.Mmio("virtio,mmio", 0xd000_0000L, 0x1000, 5));
        assertEquals(
                "console=ttyS0 reboot=k panic=-1 virtio_mmio.device=4K@0xd0000000:5 root=/dev/vda",
                X86Machine.commandLine(spec, devices, false).toString());
        assertEquals(
                "console=ttyS0 reboot=k panic=-1 " + X86_64Arch.emulatingKvmParameters()
                        + " virtio_mmio.device=4K@0xd0000000:5 root=/dev/vda",
                X86Machine.commandLine(spec, devices, true).toString());
    }
}
