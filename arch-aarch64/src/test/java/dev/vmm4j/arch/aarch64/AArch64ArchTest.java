package dev.vmm4j.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vmm4j.arch.aarch64.boot.AArch64Layout;
import dev.vmm4j.arch.aarch64.fdt.Dtc;
import dev.vmm4j.vmm.BootSpec;
import dev.vmm4j.vmm.Platform;
import dev.vmm4j.vmm.VirtioMmioWindow;
import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AArch64Arch through the LinuxArch SPI with a recording fake of the KVM calls: the exact ioctls, register ids and
 * values, in order; the kernel, initrd and device tree in guest memory. This host's (x86) KVM only supplies the Vm and
 * Vcpu handles the SPI takes; no aarch64 ioctl reaches it. The register ids are the ABI's
 * (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | offset/4: x0 0, pc 0x40, pstate 0x42).
 */
@RequiresKvm
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
    void bootsThroughTheSpiWithTheExactKvmCalls() throws Exception {
        RecordingArmKvm calls = new RecordingArmKvm(true, true, 5);
        AArch64Arch arch = new AArch64Arch(calls);
        assertEquals("aarch64", arch.name());
        assertFalse(arch.supportsHost(), "this test host is x86_64");
        assertEquals(List.of(), arch.virtioMmioParameters(List.of(new VirtioMmioWindow(0x0101_0000L, 0x1000, 2))),
                "virtio devices go in the device tree, not on the command line");
        Path kernel = image();
        Path initrd = Files.write(dir.resolve("initrd"), new byte[3000]);
        List<AutoCloseable> resources = new ArrayList<>();
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm();
                GuestMemoryMmap memory = GuestMemoryMmap.builder().anonymous(AArch64Layout.RAM_BASE, MEMORY).build()) {
            vm.createIrqchip(); // only so that this x86 VM takes the serial port's irqfd
            arch.createVm(kvm, vm, 2);
            Bus mmio = new Bus("mmio");
            arch.setupPlatform(new Platform(vm, memory, new Bus("io"), mmio, arch.systemAllocator(MEMORY),
                    new ByteArrayOutputStream(), Optional.empty(), () -> { }, resources));
            assertEquals(2, mmio.ranges().size(), "the UART and the RTC");
            BootSpec spec = new BootSpec(kernel, Optional.of(initrd), "", 2, true, UnaryOperator.identity(),
                    List.of(new VirtioMmioWindow(0x0101_0000L, 0x1000, 2)));
            Object boot = arch.loadKernel(memory, spec, "console=ttyS0 root=/dev/vda");
            Vcpu boot0 = vm.createVcpu(0);
            Vcpu secondary = vm.createVcpu(1);
            arch.configureVcpu(kvm, vm, boot0, spec, boot);
            arch.configureVcpu(kvm, vm, secondary, spec, boot);
            arch.afterVcpus(kvm, vm, List.of(boot0, secondary));
            assertEquals(0x8000_1234L, arch.programCounter(boot0));

            long fdt = AArch64Layout.RAM_BASE + MEMORY - (2 << 20);
            assertEquals(List.of(
                    "KVM_CREATE_DEVICE_TEST type 7",
                    "KVM_CREATE_DEVICE type 7",
                    "KVM_SET_DEVICE_ATTR group 0 attr 2 value 0x3fff0000",      // GICv3 distributor
                    "KVM_SET_DEVICE_ATTR group 0 attr 3 value 0x3ffb0000",      // two redistributors below it
                    "KVM_SET_DEVICE_ATTR group 3 attr 0 value 0x80",            // 128 interrupt lines
                    "KVM_ARM_PREFERRED_TARGET",
                    "KVM_ARM_VCPU_INIT vcpu 0 target 5 features 0x4",          // PSCI 0.2
                    "KVM_SET_ONE_REG vcpu 0 id 0x6030000000100042 value 0x3c5", // pstate: EL1h, DAIF masked
                    "KVM_SET_ONE_REG vcpu 0 id 0x6030000000100040 value 0x80000000", // pc: the kernel
                    "KVM_SET_ONE_REG vcpu 0 id 0x6030000000100000 value " + String.format("%#x", fdt), // x0: the tree
                    "KVM_ARM_PREFERRED_TARGET",
                    "KVM_ARM_VCPU_INIT vcpu 1 target 5 features 0x5",          // PSCI 0.2, powered off
                    "KVM_SET_DEVICE_ATTR group 4 attr 0",                      // GIC init, after the vCPUs
                    "KVM_GET_ONE_REG vcpu 0 id 0x6030000000100040"), calls.calls);

            byte[] loaded = new byte[1 << 20];
            memory.readFully(AArch64Layout.RAM_BASE, loaded);
            assertArrayEquals(Files.readAllBytes(kernel), loaded, "the Image at the start of RAM (text_offset 0)");
            byte[] magic = new byte[4];
            memory.readFully(fdt, magic);
            assertEquals(0xd00dfeed, ByteBuffer.wrap(magic).getInt());
            byte[] tree = new byte[ByteBuffer.wrap(readBytes(memory, fdt + 4, 4)).getInt()];
            memory.readFully(fdt, tree);
            Path dtb = Files.write(dir.resolve("guest.dtb"), tree);
            assertEquals("", Dtc.decompile(dtb).err());
            assertEquals("console=ttyS0 root=/dev/vda", Dtc.get(dtb, "/chosen", "bootargs").out());
            assertEquals("0 " + (AArch64Layout.RAM_BASE + (4 << 20)), Dtc.get(dtb, "-tu", "/chosen", "linux,initrd-start").out(),
                    "the initrd 2 MiB-aligned after the kernel's image_size");
            assertEquals("0 2 1", Dtc.get(dtb, "-tu", "/virtio_mmio@1010000", "interrupts").out());
            assertEquals("arm,gic-v3", Dtc.get(dtb, "/intc@3fff0000", "compatible").out());
        } finally {
            for (AutoCloseable resource : resources.reversed()) {
                resource.close();
            }
        }
    }

    private static byte[] readBytes(GuestMemoryMmap memory, long gpa, int n) throws Exception {
        byte[] bytes = new byte[n];
        memory.readFully(gpa, bytes);
        return bytes;
    }

    @Test
    void gicV2WhenThereIsNoV3AndAClearErrorWithNeither() throws Exception {
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm()) {
            RecordingArmKvm v2 = new RecordingArmKvm(false, true, 5);
            new AArch64Arch(v2).createVm(kvm, vm, 4);
            assertEquals(List.of("KVM_CREATE_DEVICE_TEST type 7", "KVM_CREATE_DEVICE_TEST type 5", "KVM_CREATE_DEVICE type 5",
                    "KVM_SET_DEVICE_ATTR group 0 attr 0 value 0x3fff0000",   // distributor
                    "KVM_SET_DEVICE_ATTR group 0 attr 1 value 0x3ffd0000",   // CPU interface
                    "KVM_SET_DEVICE_ATTR group 3 attr 0 value 0x80"), v2.calls);
            assertEquals("this host's GICv2 serves at most 8 vCPUs, not 9", assertThrows(IllegalStateException.class,
                    () -> new AArch64Arch(new RecordingArmKvm(false, true, 5)).createVm(kvm, vm, 9)).getMessage());
            assertEquals("KVM on this host offers no in-kernel GIC (neither v3 nor v2)", assertThrows(IllegalStateException.class,
                    () -> new AArch64Arch(new RecordingArmKvm(false, false, 5)).createVm(kvm, vm, 1)).getMessage());
        }
    }

    @Test
    void aKernelTooBigForTheGuestSaysSo() throws Exception {
        RecordingArmKvm calls = new RecordingArmKvm(true, true, 5);
        AArch64Arch arch = new AArch64Arch(calls);
        Path kernel = image();
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm();
                GuestMemoryMmap memory = GuestMemoryMmap.builder().anonymous(AArch64Layout.RAM_BASE, 4L << 20).build()) {
            arch.createVm(kvm, vm, 1);
            BootSpec spec = new BootSpec(kernel, Optional.empty(), "", 1, true, UnaryOperator.identity(), List.of());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> arch.loadKernel(memory, spec, ""));
            assertEquals("cannot load " + kernel + ": it needs 4 MiB from 0x80000000, more than the guest's RAM below 0x80200000",
                    e.getMessage());
        }
        assertEquals(5, calls.calls.size(), "only the GIC was set up: " + calls.calls);
    }
}
