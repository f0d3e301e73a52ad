package dev.vmm4j.arch.aarch64;

import dev.vmm4j.arch.aarch64.boot.AArch64Layout;
import dev.vmm4j.arch.aarch64.boot.DeviceTree;
import dev.vmm4j.arch.aarch64.boot.DeviceTree.GicVersion;
import dev.vmm4j.arch.aarch64.devices.Pl031;
import dev.vmm4j.arch.aarch64.kvm.ArmKvm;
import dev.vmm4j.arch.aarch64.kvm.ArmRegisters;
import dev.vmm4j.arch.aarch64.kvm.SystemArmKvm;
import dev.vmm4j.arch.aarch64.loader.ArmKernelLoader;
import dev.vmm4j.kvm.bindings.aarch64.Aarch64Headers;
import dev.vmm4j.vmm.BootSpec;
import dev.vmm4j.vmm.LinuxArch;
import dev.vmm4j.vmm.Platform;
import dev.vmm4j.vmm.RamRegion;
import dev.vmm4j.vmm.VirtioMmioWindow;
import dev.vmm4j.vmm.devices.Interrupt;
import dev.vmm4j.vmm.devices.Serial;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import dev.vmm4j.vmm.resources.SystemAllocator;
import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;

/**
 * aarch64 Linux on KVM, as crosvm boots it: RAM from 0x8000_0000, the in-kernel GIC (v3 when KVM offers it, else v2),
 * a 16550 UART and a PL031 RTC on the MMIO bus, an arm64 {@code Image} (and initrd) placed as the boot protocol says, a
 * device tree describing all of it, virtio-mmio devices included, and vCPUs started through PSCI 0.2: vCPU 0 at the
 * kernel's entry with x0 = the device tree, the others powered off until the kernel's PSCI CPU_ON.
 *
 * <p>Every KVM call goes through an {@link ArmKvm}, the real one by default; a recording one tests the exact
 * sequence on hosts without aarch64 KVM.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; one instance may build several VMs.
 */
public final class AArch64Arch implements LinuxArch {
    /** Interrupt lines the GIC has: 32 private ones, then the SPIs. */
    static final int GIC_NR_IRQS = 128;
    private static final int COMMAND_LINE_CAPACITY = 2048;

    private final ArmKvm calls;
    /** The GIC each VM got, from createVm until its init after the vCPUs. */
    private final Map<Vm, ArmKvm.Device> gics = new WeakHashMap<>();
    /** This host's GIC version, found by the first createVm (a property of the host's KVM). */
    private volatile GicVersion gicVersion;

    /** The aarch64 architecture on this host's KVM; {@link java.util.ServiceLoader} makes one. */
    public AArch64Arch() {
        this(new SystemArmKvm());
    }

    /** The aarch64 architecture making its KVM calls through {@code calls}. */
    public AArch64Arch(ArmKvm calls) {
        this.calls = Objects.requireNonNull(calls, "calls");
    }

    @Override
    public String name() {
        return "aarch64";
    }

    @Override
    public boolean supportsHost() {
        return "aarch64".equals(System.getProperty("os.arch"));
    }

    @Override
    public List<RamRegion> memoryLayout(long memoryBytes) {
        return List.of(new RamRegion(AArch64Layout.RAM_BASE, memoryBytes));
    }

    @Override
    public SystemAllocator systemAllocator(long memoryBytes) {
        return SystemAllocator.builder()
                .irqs(AArch64Layout.FIRST_DEVICE_SPI, GIC_NR_IRQS - AArch64Layout.SPI_BASE - 1)
                .mmio(AArch64Layout.MMIO_BASE, AArch64Layout.MMIO_SIZE)
                .build();
    }

    @Override
    public void createVm(Kvm kvm, Vm vm, int vcpus) {
        GicVersion version = calls.supportsDevice(vm, Aarch64Headers.KVM_DEV_TYPE_ARM_VGIC_V3()) ? GicVersion.V3 : GicVersion.V2;
        if (version == GicVersion.V2 && !calls.supportsDevice(vm, Aarch64Headers.KVM_DEV_TYPE_ARM_VGIC_V2())) {
            throw new IllegalStateException("KVM on this host offers no in-kernel GIC (neither v3 nor v2)");
        }
        if (version == GicVersion.V2 && vcpus > 8) {
            throw new IllegalStateException("this host's GICv2 serves at most 8 vCPUs, not " + vcpus);
        }
        gicVersion = version;
        int group = Aarch64Headers.KVM_DEV_ARM_VGIC_GRP_ADDR();
        ArmKvm.Device gic;
        if (version == GicVersion.V3) {
            gic = calls.createDevice(vm, Aarch64Headers.KVM_DEV_TYPE_ARM_VGIC_V3());
            gic.setAttribute(group, Aarch64Headers.KVM_VGIC_V3_ADDR_TYPE_DIST(), AArch64Layout.GIC_DIST_BASE);
            gic.setAttribute(group, Aarch64Headers.KVM_VGIC_V3_ADDR_TYPE_REDIST(), AArch64Layout.gicRedistributorBase(vcpus));
        } else {
            gic = calls.createDevice(vm, Aarch64Headers.KVM_DEV_TYPE_ARM_VGIC_V2());
            gic.setAttribute(group, Aarch64Headers.KVM_VGIC_V2_ADDR_TYPE_DIST(), AArch64Layout.GIC_DIST_BASE);
            gic.setAttribute(group, Aarch64Headers.KVM_VGIC_V2_ADDR_TYPE_CPU(), AArch64Layout.gicCpuBase());
        }
        gic.setAttribute(Aarch64Headers.KVM_DEV_ARM_VGIC_GRP_NR_IRQS(), 0, GIC_NR_IRQS);
        synchronized (gics) {
            gics.put(vm, gic);
        }
    }

    @Override
    public void setupPlatform(Platform platform) {
        EventFd serialIrq = EventFd.create();
        platform.resources().add(serialIrq);
        platform.vm().registerIrqfd(serialIrq, AArch64Layout.SERIAL_SPI);
        Serial serial = new Serial("ttyS0", Interrupt.of(serialIrq), platform.serialOutput());
        platform.serialInput().ifPresent(serial::connectInput);
        platform.resources().add(serial);
        platform.mmioBus().insert(serial, AArch64Layout.SERIAL_BASE, AArch64Layout.SERIAL_SIZE);
        platform.mmioBus().insert(new Pl031(Clock.systemUTC()), AArch64Layout.RTC_BASE, AArch64Layout.RTC_SIZE);
    }

    @Override
    public String baseCommandLine() {
        return "console=ttyS0 earlycon=uart8250,mmio,0x3f8 panic=-1";
    }

    @Override
    public int commandLineCapacity() {
        return COMMAND_LINE_CAPACITY;
    }

    /** None: aarch64 announces virtio-mmio devices in the device tree. */
    @Override
    public List<String> virtioMmioParameters(List<VirtioMmioWindow> windows) {
        return List.of();
    }

    /** What {@link #loadKernel} hands to {@link #configureVcpu}. */
    private record Boot(long entry, long deviceTree) {}

    @Override
    public Object loadKernel(GuestMemory memory, BootSpec spec, String commandLine) throws IOException {
        GicVersion version = gicVersion;
        if (version == null) {
            throw new IllegalStateException("loadKernel before createVm: the GIC version is not known yet");
        }
        long memoryBytes = memory.totalSize();
        long fdtAddress = AArch64Layout.fdtAddress(memoryBytes);
        ArmKernelLoader.Loaded loaded = ArmKernelLoader.load(memory, AArch64Layout.RAM_BASE, fdtAddress, spec.kernel(), spec.initrd());
        byte[] dtb = DeviceTree.write(new DeviceTree.Spec(memoryBytes, spec.vcpus(), commandLine, loaded.initrd(), version,
                spec.virtioMmio()));
        if (dtb.length > AArch64Layout.FDT_MAX_SIZE) {
            throw new IllegalStateException("the device tree has " + dtb.length + " bytes, more than the boot protocol's 2 MiB");
        }
        try {
            memory.writeFully(fdtAddress, dtb);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException("the device tree does not fit at " + Long.toHexString(fdtAddress), e);
        }
        return new Boot(loaded.entry(), fdtAddress);
    }

    @Override
    public void configureVcpu(Kvm kvm, Vm vm, Vcpu vcpu, BootSpec spec, Object boot) {
        Boot start = (Boot) boot;
        int features = 1 << Aarch64Headers.KVM_ARM_VCPU_PSCI_0_2();
        if (vcpu.id() != 0) {
            features |= 1 << Aarch64Headers.KVM_ARM_VCPU_POWER_OFF(); // started by the kernel's PSCI CPU_ON
        }
        calls.initVcpu(vcpu, calls.preferredTarget(vm), features);
        if (vcpu.id() == 0) {
            calls.setRegister(vcpu, ArmRegisters.PSTATE, ArmRegisters.BOOT_PSTATE);
            calls.setRegister(vcpu, ArmRegisters.PC, start.entry());
            calls.setRegister(vcpu, ArmRegisters.X0, start.deviceTree());
        }
    }

    @Override
    public void afterVcpus(Kvm kvm, Vm vm, List<Vcpu> vcpus) {
        ArmKvm.Device gic;
        synchronized (gics) {
            gic = gics.remove(vm);
        }
        if (gic == null) {
            throw new IllegalStateException("afterVcpus for a VM createVm did not set up");
        }
        gic.setAttribute(Aarch64Headers.KVM_DEV_ARM_VGIC_GRP_CTRL(), Aarch64Headers.KVM_DEV_ARM_VGIC_CTRL_INIT());
    }

    @Override
    public long programCounter(Vcpu vcpu) {
        return calls.getRegister(vcpu, ArmRegisters.PC);
    }

    @Override
    public String toString() {
        return "AArch64Arch";
    }
}
