package dev.vmm4j.arch.x86_64;

import dev.vmm4j.arch.x86_64.boot.BootParams;
import dev.vmm4j.arch.x86_64.boot.CpuidFilter;
import dev.vmm4j.arch.x86_64.boot.MpTable;
import dev.vmm4j.arch.x86_64.boot.VcpuBootState;
import dev.vmm4j.arch.x86_64.boot.X86Layout;
import dev.vmm4j.arch.x86_64.devices.Cmos;
import dev.vmm4j.arch.x86_64.devices.I8042;
import dev.vmm4j.arch.x86_64.loader.Initrd;
import dev.vmm4j.arch.x86_64.loader.InvalidKernelException;
import dev.vmm4j.arch.x86_64.loader.KernelLoader;
import dev.vmm4j.arch.x86_64.loader.LoadedKernel;
import dev.vmm4j.kvm.bindings.kvm_regs;
import dev.vmm4j.kvm.bindings.setup_header;
import dev.vmm4j.vmm.BootSpec;
import dev.vmm4j.vmm.LinuxArch;
import dev.vmm4j.vmm.Platform;
import dev.vmm4j.vmm.RamRegion;
import dev.vmm4j.vmm.boot.KernelCmdline;
import dev.vmm4j.vmm.devices.Interrupt;
import dev.vmm4j.vmm.devices.NullDevice;
import dev.vmm4j.vmm.devices.Serial;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import dev.vmm4j.vmm.resources.SystemAllocator;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * x86_64 Linux on KVM, as crosvm boots it: RAM from 0 with the MMIO hole below 4 GiB, the in-kernel irqchip and PIT,
 * COM1-4 (16550s; COM1 is the console, IRQs through irqfds), the i8042 for reset, the CMOS clock and crosvm's null
 * devices, an ELF vmlinux or a bzImage
 * (decompressed on the host if asked), an initrd, the zero page with e820, GDT, page tables and MP table, and vCPUs
 * with filtered CPUID, MSRs and LAPIC LINT0/LINT1 wired. The boot vCPU enters the kernel in 64-bit mode; the others
 * wait, as KVM leaves them, for the INIT/SIPI the kernel sends.
 */
public final class X86_64Arch implements LinuxArch {
    /** The boot protocol's initrd ceiling for kernels that do not say (2 GiB - 1). */
    private static final long DEFAULT_INITRD_ADDR_MAX = 0x7fff_ffffL;

    /** What {@link #loadKernel} hands to {@link #configureVcpu}. */
    private record Boot(long entry, long cr3) {}

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
    public List<RamRegion> memoryLayout(long memoryBytes) {
        List<RamRegion> regions = new ArrayList<>();
        long low = Math.min(memoryBytes, X86Layout.MMIO_HOLE_START);
        regions.add(new RamRegion(0, low));
        if (memoryBytes > low) {
            regions.add(new RamRegion(X86Layout.FOUR_GIB, memoryBytes - low));
        }
        return regions;
    }

    @Override
    public SystemAllocator systemAllocator(long memoryBytes) {
        return SystemAllocator.builder()
                .irqs(5, 23)
                .ioPorts(0xc000, 0x4000)
                .mmio(X86Layout.MMIO_HOLE_START, 0xfec0_0000L - X86Layout.MMIO_HOLE_START)
                .build();
    }

    @Override
    public void createVm(Kvm kvm, Vm vm, int vcpus) {
        vm.setIdentityMapAddress(X86Layout.IDENTITY_MAP);
        vm.setTssAddress(X86Layout.TSS);
        vm.createIrqchip();
        vm.createPit2(0);
    }

    @Override
    public void setupPlatform(Platform platform) {
        // COM1 to the embedder's console; COM2-4 exist as Linux expects them, with nothing behind them. COM1 and COM3
        // share IRQ 4, COM2 and COM4 IRQ 3, each IRQ through one irqfd.
        EventFd irq4 = irqfd(platform, 4);
        EventFd irq3 = irqfd(platform, 3);
        Serial com1 = serial(platform, "ttyS0", irq4, platform.serialOutput(), 0x3f8);
        platform.serialInput().ifPresent(com1::connectInput);
        serial(platform, "ttyS1", irq3, OutputStream.nullOutputStream(), 0x2f8);
        serial(platform, "ttyS2", irq4, OutputStream.nullOutputStream(), 0x3e8);
        serial(platform, "ttyS3", irq3, OutputStream.nullOutputStream(), 0x2e8);
        platform.ioBus().insert(new I8042(platform.guestReset()), 0x60, 5);
        platform.ioBus().insert(new NullDevice("delay port"), 0xed, 1);
        platform.ioBus().insert(new NullDevice("FPU error ports"), 0xf0, 2);
        platform.ioBus().insert(new NullDevice("PCI configuration (no PCI)"), 0xcf8, 8);
        long below4g = 0;
        long above4g = 0;
        for (var region : platform.memory().regions()) {
            if (Long.compareUnsigned(region.start(), X86Layout.FOUR_GIB) < 0) {
                below4g += region.size();
            } else {
                above4g += region.size();
            }
        }
        platform.ioBus().insert(new Cmos(Clock.systemUTC(), below4g, above4g), 0x70, 2);
    }

    private static EventFd irqfd(Platform platform, int irq) {
        EventFd event = EventFd.create();
        platform.resources().add(event);
        platform.vm().registerIrqfd(event, irq);
        return event;
    }

    private static Serial serial(Platform platform, String name, EventFd irq, OutputStream output, long port) {
        Serial serial = new Serial(name, Interrupt.of(irq), output);
        platform.resources().add(serial);
        platform.ioBus().insert(serial, port, 8);
        return serial;
    }

    @Override
    public String baseCommandLine() {
        return "console=ttyS0 reboot=k panic=-1";
    }

    @Override
    public int commandLineCapacity() {
        return X86Layout.CMDLINE_MAX;
    }

    @Override
    public Object loadKernel(GuestMemory memory, BootSpec spec, String commandLine) throws IOException {
        try {
            LoadedKernel kernel = KernelLoader.load(spec.kernel(), memory,
                    spec.hostDecompression() ? KernelLoader.Decompression.HOST : KernelLoader.Decompression.GUEST);
            byte[] cmdline = new KernelCmdline(X86Layout.CMDLINE_MAX).insertStr(commandLine).toCString();
            memory.writeFully(X86Layout.CMDLINE, cmdline);
            BootParams params = new BootParams().commandLine(X86Layout.CMDLINE, cmdline.length).e820(BootParams.e820For(memory));
            kernel.setupHeader().ifPresent(params::setupHeader);
            if (spec.initrd().isPresent()) {
                long limit = Math.min(memory.regions().getFirst().size(), initrdLimit(kernel));
                Initrd.Placement initrd = Initrd.load(spec.initrd().get(), memory, kernel.end(), limit);
                params.initrd(initrd.address(), initrd.size());
            }
            params.writeTo(memory, X86Layout.ZERO_PAGE);
            long cr3 = VcpuBootState.writeTables(memory);
            MpTable.write(memory, spec.vcpus());
            return new Boot(kernel.entry(), cr3);
        } catch (InvalidKernelException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        } catch (GuestMemoryException e) {
            throw new IllegalArgumentException("the boot structures do not fit in guest memory: " + e.getMessage(), e);
        }
    }

    /** {@return where an initrd must end: below the bzImage's initrd_addr_max, and below 2 GiB for a vmlinux} */
    private static long initrdLimit(LoadedKernel kernel) {
        long limit = DEFAULT_INITRD_ADDR_MAX + 1;
        if (kernel.setupHeader().isPresent()) {
            byte[] header = kernel.setupHeader().get();
            int at = (int) setup_header.initrd_addr_max$offset();
            if (header.length >= at + 4) {
                long max = Integer.toUnsignedLong(ByteBuffer.wrap(header, at, 4).order(ByteOrder.LITTLE_ENDIAN).getInt());
                limit = Math.min(limit, max + 1);
            }
        }
        return limit;
    }

    @Override
    public void configureVcpu(Kvm kvm, Vm vm, Vcpu vcpu, BootSpec spec, Object boot) {
        Boot where = (Boot) boot;
        vcpu.setCpuid(CpuidFilter.forVcpu(kvm.supportedCpuid(), vcpu.id(), spec.vcpus(), spec.cpuidCustomiser()));
        if (vcpu.id() == 0) {
            VcpuBootState.configureBootVcpu(vcpu, where.cr3(), where.entry(), X86Layout.ZERO_PAGE);
        }
        VcpuBootState.configureLapic(vcpu);
    }

    @Override
    public long programCounter(Vcpu vcpu) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = kvm_regs.allocate(arena);
            vcpu.getRegs(regs);
            return kvm_regs.rip(regs);
        }
    }
}
