// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.arch.aarch64.boot.AArch64Layout;
import dev.vmm4j.arch.aarch64.fdt.Dtc;
import dev.vmm4j.vmm.arch.Boot;
import dev.vmm4j.vmm.arch.BootSpec;
import dev.vmm4j.vmm.arch.DeviceAnnouncement;
import dev.vmm4j.vmm.arch.MachineLayout;
import dev.vmm4j.vmm.arch.RamRegion;
import dev.vmm4j.vmm.devices.DeviceNode;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import dev.vmm4j.vmm.testing.RecordingDeviceContext;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One aarch64 VM's machine with a recording fake of its KVM calls and a device context without KVM: the exact ioctls,
 * register ids and values, in order; the platform devices; the kernel, initrd and device tree in guest memory. No KVM
 * is needed, on any host. The register ids are the ABI's (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
 * offset/4: x0 0, pc 0x40, pstate 0x42).
 */
@Dtc.Required
class AArch64ArchTest {
    private static final long MEMORY = 128L << 20;

    @TempDir
    Path dir;

    /** A 1 MiB Image whose header asks for 4 MiB at any 2 MiB-aligned base. */
    private Path image() throws Exception {
        ByteBuffer kernel = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        kernel.putLong(8, 0).putLong(16, 4 << 20).putLong(24, 0b1010).putInt(56, 0x644d5241);
        for (int i = 64; i < kernel.capacity(); i++) {
            kernel.put(i, (byte) i);
        }
        return Files.write(dir.resolve("Image"), kernel.array());
    }

    @Test
    void devicesCanOnlyBeAnnouncedInTheDeviceTree() {
        BootSpec onTheCommandLine = new BootSpec(
                Path.of("Image"),
                Optional.empty(),
                "",
                true,
                UnaryOperator.identity(),
                DeviceAnnouncement.KERNEL_COMMAND_LINE);
        List<String> problems = new AArch64Arch().checkBootSpec(onTheCommandLine);
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.getFirst().contains("learns of its devices from the device tree"), problems.toString());
        assertEquals(List.of(), new AArch64Arch().checkBootSpec(BootSpec.of(Path.of("Image"))));
    }

    @Test
    void theLayoutPutsRamAt2GiBAndDevicesAboveTheRtc() {
        AArch64Arch arch = new AArch64Arch();
        assertEquals("aarch64", arch.name());
        MachineLayout layout = arch.layout(MEMORY);
        assertEquals(List.of(new RamRegion(0x8000_0000L, MEMORY)), layout.ram());
        assertEquals(AArch64Layout.FIRST_DEVICE_SPI, layout.allocator().allocateIrq("first"));
        assertEquals(AArch64Layout.MMIO_BASE, layout.allocator().mmio().allocate(0x1000, 0x1000, "first"));
        assertEquals(
                List.of(new RamRegion(0x8000_0000L, MEMORY)),
                arch.layout(MEMORY).ram(),
                "a fresh layout per VM");
        assertEquals(
                AArch64Layout.FIRST_DEVICE_SPI, arch.layout(MEMORY).allocator().allocateIrq("again"));
    }

    @Test
    void bootsWithTheExactKvmCallsAndAnnouncedDevicesInTheTree() throws Exception {
        RecordingArmKvm calls = new RecordingArmKvm(true, true, 5);
        Path kernel = image();
        Path initrd = Files.write(dir.resolve("initrd"), new byte[3000]);
        AArch64Arch arch = new AArch64Arch();
        try (GuestMemoryMmap memory = GuestMemoryMmap.builder()
                        .anonymous(AArch64Layout.RAM_BASE, MEMORY)
                        .build();
                RecordingDeviceContext devices =
                        new RecordingDeviceContext(memory, arch.layout(MEMORY).allocator())) {
            AArch64Machine machine =
                    AArch64Machine.create(calls, 2, devices, new ByteArrayOutputStream(), Optional.empty());
            assertEquals(2, devices.mmioBus().ranges().size(), "the UART and the RTC");
            assertEquals(List.of(AArch64Layout.SERIAL_SPI), devices.irqfdLines(), "the UART's interrupt");
            BootSpec spec = new BootSpec(
                    kernel,
                    Optional.of(initrd),
                    "root=/dev/vda",
                    true,
                    UnaryOperator.identity(),
                    DeviceAnnouncement.FIRMWARE);
            Boot boot = machine.boot(spec, List.of(new DeviceNode.Mmio("virtio,mmio", 0x0101_0000L, 0x1000, 2)));
            assertEquals(
                    "console=ttyS0 earlycon=uart8250,mmio,0x3f8 panic=-1 root=/dev/vda",
                    boot.commandLine(),
                    "virtio devices go in the device tree, not on the command line");
            assertEquals(0x8000_0000L, boot.entryPoint());
            assertEquals(0x8000_1234L, machine.programCounter(0));
            assertThrows(IllegalStateException.class, () -> machine.boot(spec, List.of()), "a machine boots once");

            long fdt = AArch64Layout.RAM_BASE + MEMORY - (2 << 20);
            assertEquals(
                    List.of(
                            "KVM_CREATE_DEVICE_TEST type 7",
                            "KVM_CREATE_DEVICE type 7",
                            "KVM_SET_DEVICE_ATTR group 0 attr 2 value 0x3fff0000", // GICv3 distributor
                            "KVM_SET_DEVICE_ATTR group 0 attr 3 value 0x3ffb0000", // two redistributors below it
                            "KVM_SET_DEVICE_ATTR group 3 attr 0 value 0x80", // 128 interrupt lines
                            "KVM_ARM_PREFERRED_TARGET",
                            "KVM_CREATE_VCPU 0",
                            "KVM_ARM_VCPU_INIT vcpu 0 target 5 features 0x4", // PSCI 0.2
                            "KVM_SET_ONE_REG vcpu 0 id 0x6030000000100042 value 0x3c5", // pstate: EL1h, DAIF masked
                            "KVM_SET_ONE_REG vcpu 0 id 0x6030000000100040 value 0x80000000", // pc: the kernel
                            "KVM_SET_ONE_REG vcpu 0 id 0x6030000000100000 value "
                                    + String.format("%#x", fdt), // x0: the tree
                            "KVM_CREATE_VCPU 1",
                            "KVM_ARM_VCPU_INIT vcpu 1 target 5 features 0x5", // PSCI 0.2, powered off
                            "KVM_SET_DEVICE_ATTR group 4 attr 0", // GIC init, after the vCPUs
                            "KVM_GET_ONE_REG vcpu 0 id 0x6030000000100040"),
                    calls.calls);

            byte[] loaded = new byte[1 << 20];
            memory.readFully(AArch64Layout.RAM_BASE, loaded);
            assertArrayEquals(Files.readAllBytes(kernel), loaded, "the Image at the start of RAM (text_offset 0)");
            byte[] magic = new byte[4];
            memory.readFully(fdt, magic);
            assertEquals(0xd00dfeed, ByteBuffer.wrap(magic).getInt());
            byte[] tree =
                    new byte[ByteBuffer.wrap(readBytes(memory, fdt + 4, 4)).getInt()];
            memory.readFully(fdt, tree);
            Path dtb = Files.write(dir.resolve("guest.dtb"), tree);
            assertEquals("", Dtc.decompile(dtb).err());
            assertEquals(boot.commandLine(), Dtc.get(dtb, "/chosen", "bootargs").out());
            assertEquals(
                    "0 " + (AArch64Layout.RAM_BASE + (4 << 20)),
                    Dtc.get(dtb, "-tu", "/chosen", "linux,initrd-start").out(),
                    "the initrd 2 MiB-aligned after the kernel's image_size");
            assertEquals(
                    "0 2 1",
                    Dtc.get(dtb, "-tu", "/virtio_mmio@1010000", "interrupts").out());
            assertEquals(
                    "arm,gic-v3", Dtc.get(dtb, "/intc@3fff0000", "compatible").out());
        }
    }

    private static byte[] readBytes(GuestMemoryMmap memory, long gpa, int n) throws Exception {
        byte[] bytes = new byte[n];
        memory.readFully(gpa, bytes);
        return bytes;
    }

    @Test
    void gicV2WhenThereIsNoV3AndAClearErrorWithNeither() throws Exception {
        try (GuestMemoryMmap memory = GuestMemoryMmap.builder()
                        .anonymous(AArch64Layout.RAM_BASE, MEMORY)
                        .build();
                RecordingDeviceContext devices = new RecordingDeviceContext(
                        memory, new AArch64Arch().layout(MEMORY).allocator())) {
            RecordingArmKvm v2 = new RecordingArmKvm(false, true, 5);
            AArch64Machine machine =
                    AArch64Machine.create(v2, 4, devices, new ByteArrayOutputStream(), Optional.empty());
            assertEquals(
                    List.of(
                            "KVM_CREATE_DEVICE_TEST type 7",
                            "KVM_CREATE_DEVICE_TEST type 5",
                            "KVM_CREATE_DEVICE type 5",
                            "KVM_SET_DEVICE_ATTR group 0 attr 0 value 0x3fff0000", // distributor
                            "KVM_SET_DEVICE_ATTR group 0 attr 1 value 0x3ffd0000", // CPU interface
                            "KVM_SET_DEVICE_ATTR group 3 attr 0 value 0x80"),
                    v2.calls);
            assertEquals("AArch64Machine[4 vCPUs, GIC V2]", machine.toString());
            assertEquals(
                    "this host's GICv2 serves at most 8 vCPUs, not 9",
                    assertThrows(
                                    IllegalStateException.class,
                                    () -> AArch64Machine.create(
                                            new RecordingArmKvm(false, true, 5),
                                            9,
                                            devices,
                                            new ByteArrayOutputStream(),
                                            Optional.empty()))
                            .getMessage());
            assertEquals(
                    "KVM on this host offers no in-kernel GIC (neither v3 nor v2)",
                    assertThrows(
                                    IllegalStateException.class,
                                    () -> AArch64Machine.create(
                                            new RecordingArmKvm(false, false, 5),
                                            1,
                                            devices,
                                            new ByteArrayOutputStream(),
                                            Optional.empty()))
                            .getMessage());
        }
    }

    @Test
    void aKernelTooBigForTheGuestSaysSoBeforeAnyVcpuExists() throws Exception {
        RecordingArmKvm calls = new RecordingArmKvm(true, true, 5);
        Path kernel = image();
        try (GuestMemoryMmap memory = GuestMemoryMmap.builder()
                        .anonymous(AArch64Layout.RAM_BASE, 4L << 20)
                        .build();
                RecordingDeviceContext devices = new RecordingDeviceContext(
                        memory, new AArch64Arch().layout(4L << 20).allocator())) {
            AArch64Machine machine =
                    AArch64Machine.create(calls, 1, devices, new ByteArrayOutputStream(), Optional.empty());
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> machine.boot(BootSpec.of(kernel), List.of()));
            assertEquals(
                    "cannot load " + kernel
                            + ": it needs 4 MiB from 0x80000000, more than the guest's RAM below 0x80200000",
                    e.getMessage());
        }
        assertEquals(5, calls.calls.size(), "only the GIC was set up: " + calls.calls);
    }
}
