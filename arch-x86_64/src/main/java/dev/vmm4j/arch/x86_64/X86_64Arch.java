// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64;

import dev.vmm4j.arch.x86_64.assist.EmulationAssists;
import dev.vmm4j.arch.x86_64.boot.X86Layout;
import dev.vmm4j.vmm.arch.ArchMachine;
import dev.vmm4j.vmm.arch.BootSpec;
import dev.vmm4j.vmm.arch.DeviceAnnouncement;
import dev.vmm4j.vmm.arch.LinuxArch;
import dev.vmm4j.vmm.arch.MachineContext;
import dev.vmm4j.vmm.arch.MachineLayout;
import dev.vmm4j.vmm.arch.RamRegion;
import dev.vmm4j.vmm.resources.SystemAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * x86_64 Linux on KVM, as crosvm boots it: RAM from 0 with the MMIO hole below 4 GiB (devices get windows from
 * {@code 0xd0000000} and IOAPIC lines from 5), and per VM an {@link X86Machine}: the in-kernel irqchip and PIT, the
 * legacy PC devices, an ELF vmlinux or bzImage with its boot structures, and the vCPUs.
 *
 * <h2>A KVM that emulates ring 0</h2>
 * This project's development machines have one, and Linux needs three things there, each of which does nothing on
 * hardware KVM: instructions its emulator rejects but the VMM can complete (int3 and fwait) are completed by the
 * machine's {@link EmulationAssists}; paravirtual features that need a hypercall are hidden from the guest when a probe
 * finds that hypercalls never return there (else Linux cannot start a second vCPU); and since that KVM ignores the
 * CPUID table it is given, Linux's own {@code clearcpuid=} and friends keep it off the features the emulator cannot
 * run ({@link #emulatingKvmParameters()}).
 *
 * <p><b>Thread safety:</b> safe for concurrent use: one instance builds any number of VMs; it holds nothing per VM
 * (its assists only count, atomically).
 */
public final class X86_64Arch implements LinuxArch {
    private final EmulationAssists assists;
    private final boolean adaptLinuxToEmulatingKvm;

    /**
     * The x86_64 architecture with the {@linkplain EmulationAssists#standard() standard emulation assists}, adapting
     * Linux's command line to a KVM that emulates ring 0; {@link java.util.ServiceLoader} makes one.
     */
    public X86_64Arch() {
        this(EmulationAssists.standard(), true);
    }

    /**
     * The x86_64 architecture completing what KVM's emulator cannot with {@code assists} (which count for every VM),
     * adapting Linux's command line to a KVM that emulates ring 0.
     *
     * @param assists tried in order on each emulation failure; one instance serves every VM this architecture builds
     */
    public X86_64Arch(EmulationAssists assists) {
        this(assists, true);
    }

    /**
     * The x86_64 architecture completing what KVM's emulator cannot with {@code assists}, and, if
     * {@code adaptLinuxToEmulatingKvm} and KVM does not take the CPUID table (the mark of a KVM that emulates ring 0),
     * putting {@link #emulatingKvmParameters()} on the kernel command line so that Linux keeps off what
     * that KVM cannot run. Where KVM takes the table (hardware KVM), nothing is added.
     *
     * @param assists tried in order on each emulation failure; one instance serves every VM this architecture builds
     * @param adaptLinuxToEmulatingKvm false to leave the command line as the embedder wrote it on every KVM; the
     *     guest then has to keep off what the emulator cannot run by itself
     */
    public X86_64Arch(EmulationAssists assists, boolean adaptLinuxToEmulatingKvm) {
        this.assists = Objects.requireNonNull(assists, "assists");
        this.adaptLinuxToEmulatingKvm = adaptLinuxToEmulatingKvm;
    }

    /** {@return the parameters the machine adds for Linux on a KVM that emulates ring 0 and does not take CPUID} */
    public static String emulatingKvmParameters() {
        return X86Machine.EMULATING_KVM_PARAMETERS;
    }

    /** {@return the emulation assists this architecture's machines use, with their counts} */
    public EmulationAssists assists() {
        return assists;
    }

    @Override
    public String name() {
        return "x86_64";
    }

    @Override
    public boolean supportsHost() {
        String arch = System.getProperty("os.arch");
        return "amd64".equals(arch) || "x86_64".equals(arch);
    }

    @Override
    public MachineLayout layout(long memoryBytes) {
        List<RamRegion> regions = new ArrayList<>();
        long low = Math.min(memoryBytes, X86Layout.MMIO_HOLE_START);
        regions.add(new RamRegion(0, low));
        if (memoryBytes > low) {
            regions.add(new RamRegion(X86Layout.FOUR_GIB, memoryBytes - low));
        }
        SystemAllocator allocator = SystemAllocator.builder()
                .irqs(5, 23)
                .ioPorts(0xc000, 0x4000)
                .mmio(X86Layout.MMIO_HOLE_START, 0xfec0_0000L - X86Layout.MMIO_HOLE_START)
                .build();
        return new MachineLayout(regions, allocator);
    }

    /**
     * Never both ways of announcing devices: with the ACPI tables describing them, {@code virtio_mmio.device=} among
     * the embedder's parameters would make Linux probe each window twice.
     */
    @Override
    public List<String> checkBootSpec(BootSpec spec) {
        if (spec.deviceAnnouncement() == DeviceAnnouncement.FIRMWARE
                && spec.commandLine().contains("virtio_mmio.device=")) {
            return List.of("the command line announces virtio-mmio devices (virtio_mmio.device=) while the ACPI tables"
                    + " describe them too, and Linux would probe each twice: drop the parameter, or announce the devices"
                    + " with deviceAnnouncement(KERNEL_COMMAND_LINE)");
        }
        return List.of();
    }

    @Override
    public ArchMachine createMachine(MachineContext context) {
        return X86Machine.create(context, assists, adaptLinuxToEmulatingKvm);
    }

    @Override
    public String toString() {
        return "X86_64Arch";
    }
}
