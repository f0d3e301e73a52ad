// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64;

import dev.vmm4j.arch.aarch64.boot.AArch64Layout;
import dev.vmm4j.arch.aarch64.boot.DeviceTree;
import dev.vmm4j.arch.aarch64.boot.DeviceTree.GicVersion;
import dev.vmm4j.arch.aarch64.devices.Pl031;
import dev.vmm4j.arch.aarch64.kvm.ArmKvm;
import dev.vmm4j.arch.aarch64.kvm.ArmRegisters;
import dev.vmm4j.arch.aarch64.loader.ArmKernelLoader;
import dev.vmm4j.kvm.bindings.aarch64.Aarch64Headers;
import dev.vmm4j.vmm.arch.ArchMachine;
import dev.vmm4j.vmm.arch.Boot;
import dev.vmm4j.vmm.arch.BootSpec;
import dev.vmm4j.vmm.arch.DeviceAnnouncement;
import dev.vmm4j.vmm.devices.DeviceContext;
import dev.vmm4j.vmm.devices.DeviceNode;
import dev.vmm4j.vmm.devices.Interrupt;
import dev.vmm4j.vmm.devices.Serial;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One aarch64 VM's machine: its in-kernel GIC (created here, before any vCPU; initialised after every vCPU), a 16550
 * UART and a PL031 RTC on the MMIO bus; at boot, the kernel and initrd where the arm64 boot protocol wants them, a
 * device tree with the devices the VM announced, and the vCPUs: vCPU 0 at the kernel's entry with x0 = the device
 * tree, the others powered off until the kernel's PSCI CPU_ON.
 *
 * <p>Every KVM call goes through an {@link ArmKvm}; a recording one tests the exact sequence without KVM.
 *
 * <p><b>Thread safety:</b> see {@link ArchMachine}.
 */
final class AArch64Machine implements ArchMachine {
    /** Interrupt lines the GIC has: 32 private ones, then the SPIs. */
    static final int GIC_NR_IRQS = 128;

    static final String BASE_COMMAND_LINE = "console=ttyS0 earlycon=uart8250,mmio,0x3f8 panic=-1";
    private static final int COMMAND_LINE_CAPACITY = 2048;

    private final ArmKvm kvm;
    private final int vcpuCount;
    private final DeviceContext devices;
    private final GicVersion gicVersion;
    private final ArmKvm.Device gic;
    private boolean booted;

    private AArch64Machine(ArmKvm kvm, int vcpuCount, DeviceContext devices, GicVersion gicVersion, ArmKvm.Device gic) {
        this.kvm = kvm;
        this.vcpuCount = vcpuCount;
        this.devices = devices;
        this.gicVersion = gicVersion;
        this.gic = gic;
    }

    /**
     * Creates the GIC (v3 if KVM offers it, else v2) for {@code vcpuCount} vCPUs and puts the UART and RTC on the MMIO
     * bus of {@code devices}.
     *
     * @throws IllegalStateException if the host's KVM has no in-kernel GIC, or only a v2 and more than 8 vCPUs are asked
     */
    static AArch64Machine create(
            ArmKvm kvm,
            int vcpuCount,
            DeviceContext devices,
            OutputStream console,
            Optional<InputStream> consoleInput) {
        Objects.requireNonNull(kvm, "kvm");
        GicVersion version =
                kvm.supportsDevice(Aarch64Headers.KVM_DEV_TYPE_ARM_VGIC_V3()) ? GicVersion.V3 : GicVersion.V2;
        if (version == GicVersion.V2 && !kvm.supportsDevice(Aarch64Headers.KVM_DEV_TYPE_ARM_VGIC_V2())) {
            throw new IllegalStateException("KVM on this host offers no in-kernel GIC (neither v3 nor v2)");
        }
        if (version == GicVersion.V2 && vcpuCount > 8) {
            throw new IllegalStateException("this host's GICv2 serves at most 8 vCPUs, not " + vcpuCount);
        }
        int group = Aarch64Headers.KVM_DEV_ARM_VGIC_GRP_ADDR();
        ArmKvm.Device gic;
        if (version == GicVersion.V3) {
            gic = kvm.createDevice(Aarch64Headers.KVM_DEV_TYPE_ARM_VGIC_V3());
            gic.setAttribute(group, Aarch64Headers.KVM_VGIC_V3_ADDR_TYPE_DIST(), AArch64Layout.GIC_DIST_BASE);
            gic.setAttribute(
                    group,
                    Aarch64Headers.KVM_VGIC_V3_ADDR_TYPE_REDIST(),
                    AArch64Layout.gicRedistributorBase(vcpuCount));
        } else {
            gic = kvm.createDevice(Aarch64Headers.KVM_DEV_TYPE_ARM_VGIC_V2());
            gic.setAttribute(group, Aarch64Headers.KVM_VGIC_V2_ADDR_TYPE_DIST(), AArch64Layout.GIC_DIST_BASE);
            gic.setAttribute(group, Aarch64Headers.KVM_VGIC_V2_ADDR_TYPE_CPU(), AArch64Layout.gicCpuBase());
        }
        gic.setAttribute(Aarch64Headers.KVM_DEV_ARM_VGIC_GRP_NR_IRQS(), 0, GIC_NR_IRQS);

        Serial serial = new Serial("ttyS0", Interrupt.of(devices.irqfd(AArch64Layout.SERIAL_SPI)), console);
        devices.closeOnExit(serial);
        consoleInput.ifPresent(input -> serial.connectInput(input, devices.threadFactory()));
        devices.mmioBus().insert(serial, AArch64Layout.SERIAL_BASE, AArch64Layout.SERIAL_SIZE);
        devices.mmioBus().insert(new Pl031(Clock.systemUTC()), AArch64Layout.RTC_BASE, AArch64Layout.RTC_SIZE);
        return new AArch64Machine(kvm, vcpuCount, devices, version, gic);
    }

    /** {@return the GIC this machine's VM has} */
    GicVersion gicVersion() {
        return gicVersion;
    }

    @Override
    public Boot boot(BootSpec spec, List<DeviceNode> nodes) throws IOException {
        if (booted) {
            throw new IllegalStateException("this aarch64 machine has booted already");
        }
        if (spec.deviceAnnouncement() != DeviceAnnouncement.FIRMWARE) {
            throw new IllegalArgumentException("an aarch64 guest learns of its devices from the device tree; announcing"
                    + " them on the command line (" + spec.deviceAnnouncement() + ") is an x86 option");
        }
        booted = true;
        String commandLine =
                spec.commandLine().isEmpty() ? BASE_COMMAND_LINE : BASE_COMMAND_LINE + " " + spec.commandLine();
        if (commandLine.getBytes(StandardCharsets.US_ASCII).length + 1 > COMMAND_LINE_CAPACITY) {
            throw new IllegalArgumentException("the kernel command line has " + commandLine.length()
                    + " characters; an aarch64 kernel takes at most " + (COMMAND_LINE_CAPACITY - 1));
        }
        GuestMemory memory = devices.memory();
        long memoryBytes = memory.totalSize();
        long fdtAddress = AArch64Layout.fdtAddress(memoryBytes);
        ArmKernelLoader.Loaded loaded =
                ArmKernelLoader.load(memory, AArch64Layout.RAM_BASE, fdtAddress, spec.kernel(), spec.initrd());
        byte[] dtb = DeviceTree.write(
                new DeviceTree.Spec(memoryBytes, vcpuCount, commandLine, loaded.initrd(), gicVersion, nodes));
        if (dtb.length > AArch64Layout.FDT_MAX_SIZE) {
            throw new IllegalArgumentException(
                    "the device tree has " + dtb.length + " bytes, more than the boot protocol's 2 MiB");
        }
        try {
            memory.writeFully(fdtAddress, dtb);
        } catch (GuestMemoryException e) {
            throw new IllegalArgumentException("the device tree does not fit at " + Long.toHexString(fdtAddress), e);
        }
        int target = kvm.preferredTarget();
        for (int id = 0; id < vcpuCount; id++) {
            kvm.createVcpu(id);
            int features = 1 << Aarch64Headers.KVM_ARM_VCPU_PSCI_0_2();
            if (id != 0) {
                features |= 1 << Aarch64Headers.KVM_ARM_VCPU_POWER_OFF(); // started by the kernel's PSCI CPU_ON
            }
            kvm.initVcpu(id, target, features);
            if (id == 0) {
                kvm.setRegister(id, ArmRegisters.PSTATE, ArmRegisters.BOOT_PSTATE);
                kvm.setRegister(id, ArmRegisters.PC, loaded.entry());
                kvm.setRegister(id, ArmRegisters.X0, fdtAddress);
            }
        }
        // The vGIC is initialised once every vCPU exists (KVM_DEV_ARM_VGIC_CTRL_INIT).
        gic.setAttribute(Aarch64Headers.KVM_DEV_ARM_VGIC_GRP_CTRL(), Aarch64Headers.KVM_DEV_ARM_VGIC_CTRL_INIT());
        return new Boot(kvm.vcpus(), loaded.entry(), commandLine);
    }

    @Override
    public long programCounter(int vcpu) {
        return kvm.getRegister(vcpu, ArmRegisters.PC);
    }

    @Override
    public String toString() {
        return "AArch64Machine[" + vcpuCount + " vCPUs, GIC " + gicVersion + "]";
    }
}
