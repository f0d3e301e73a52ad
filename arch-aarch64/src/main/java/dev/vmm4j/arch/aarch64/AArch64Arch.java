// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64;

import dev.vmm4j.arch.aarch64.boot.AArch64Layout;
import dev.vmm4j.arch.aarch64.kvm.SystemArmKvm;
import dev.vmm4j.vmm.arch.ArchMachine;
import dev.vmm4j.vmm.arch.BootSpec;
import dev.vmm4j.vmm.arch.DeviceAnnouncement;
import dev.vmm4j.vmm.arch.LinuxArch;
import dev.vmm4j.vmm.arch.MachineContext;
import dev.vmm4j.vmm.arch.MachineLayout;
import dev.vmm4j.vmm.arch.RamRegion;
import dev.vmm4j.vmm.resources.SystemAllocator;
import java.util.List;

/**
 * aarch64 Linux on KVM, as crosvm boots it: RAM from 0x8000_0000, devices from 0x0101_0000 with SPIs from 2, and per
 * VM an {@link AArch64Machine}: the in-kernel GIC (v3 when KVM offers it, else v2), a 16550 UART and a PL031 RTC, an
 * arm64 {@code Image} (and initrd) with a device tree describing all of it, and vCPUs started through PSCI 0.2.
 *
 * <p><b>Thread safety:</b> stateless, so safe for concurrent use: one instance builds any number of VMs, and what one
 * VM needs to remember (its GIC) lives in its machine.
 */
public final class AArch64Arch implements LinuxArch {
    /** The aarch64 architecture; {@link java.util.ServiceLoader} makes one. */
    public AArch64Arch() {}

    @Override
    public String name() {
        return "aarch64";
    }

    @Override
    public boolean supportsHost() {
        return "aarch64".equals(System.getProperty("os.arch"));
    }

    @Override
    public MachineLayout layout(long memoryBytes) {
        SystemAllocator allocator = SystemAllocator.builder()
                .irqs(AArch64Layout.FIRST_DEVICE_SPI, AArch64Machine.GIC_NR_IRQS - AArch64Layout.SPI_BASE - 1)
                .mmio(AArch64Layout.MMIO_BASE, AArch64Layout.MMIO_SIZE)
                .build();
        return new MachineLayout(List.of(new RamRegion(AArch64Layout.RAM_BASE, memoryBytes)), allocator);
    }

    /** An aarch64 guest learns of its devices from the device tree only. */
    @Override
    public List<String> checkBootSpec(BootSpec spec) {
        return spec.deviceAnnouncement() == DeviceAnnouncement.FIRMWARE
                ? List.of()
                : List.of("an aarch64 guest learns of its devices from the device tree; announcing them on the kernel"
                        + " command line (" + spec.deviceAnnouncement() + ") is an x86_64 option");
    }

    @Override
    public ArchMachine createMachine(MachineContext context) {
        return AArch64Machine.create(
                new SystemArmKvm(context.vm()),
                context.vcpuCount(),
                context.devices(),
                context.console(),
                context.consoleInput());
    }

    @Override
    public String toString() {
        return "AArch64Arch";
    }
}
