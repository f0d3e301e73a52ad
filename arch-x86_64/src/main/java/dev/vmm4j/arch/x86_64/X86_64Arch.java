package dev.vmm4j.arch.x86_64;

import dev.vmm4j.arch.x86_64.boot.X86Layout;
import dev.vmm4j.vmm.arch.ArchMachine;
import dev.vmm4j.vmm.arch.LinuxArch;
import dev.vmm4j.vmm.arch.MachineContext;
import dev.vmm4j.vmm.arch.MachineLayout;
import dev.vmm4j.vmm.arch.RamRegion;
import dev.vmm4j.vmm.resources.SystemAllocator;
import java.util.ArrayList;
import java.util.List;

/**
 * x86_64 Linux on KVM, as crosvm boots it: RAM from 0 with the MMIO hole below 4 GiB (devices get windows from
 * {@code 0xd0000000} and IOAPIC lines from 5), and per VM an {@link X86Machine}: the in-kernel irqchip and PIT, the
 * legacy PC devices, an ELF vmlinux or bzImage with its boot structures, and the vCPUs.
 *
 * <p><b>Thread safety:</b> stateless, so safe for concurrent use: one instance builds any number of VMs.
 */
public final class X86_64Arch implements LinuxArch {
    /** The x86_64 architecture; {@link java.util.ServiceLoader} makes one. */
    public X86_64Arch() {}

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

    @Override
    public ArchMachine createMachine(MachineContext context) {
        return X86Machine.create(context);
    }

    @Override
    public String toString() {
        return "X86_64Arch";
    }
}
