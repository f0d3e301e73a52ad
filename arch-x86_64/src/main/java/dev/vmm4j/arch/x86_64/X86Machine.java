// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64;

import dev.vmm4j.arch.x86_64.acpi.AcpiTables;
import dev.vmm4j.arch.x86_64.acpi.SleepControl;
import dev.vmm4j.arch.x86_64.assist.EmulationAssists;
import dev.vmm4j.arch.x86_64.assist.FailedInstruction;
import dev.vmm4j.arch.x86_64.assist.VcpuControl;
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
import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.kvm_regs;
import dev.vmm4j.kvm.bindings.kvm_segment;
import dev.vmm4j.kvm.bindings.kvm_sregs;
import dev.vmm4j.kvm.bindings.kvm_vcpu_events;
import dev.vmm4j.kvm.bindings.setup_header;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.arch.ArchMachine;
import dev.vmm4j.vmm.arch.Boot;
import dev.vmm4j.vmm.arch.BootSpec;
import dev.vmm4j.vmm.arch.DeviceAnnouncement;
import dev.vmm4j.vmm.arch.MachineContext;
import dev.vmm4j.vmm.boot.KernelCmdline;
import dev.vmm4j.vmm.devices.DeviceContext;
import dev.vmm4j.vmm.devices.DeviceNode;
import dev.vmm4j.vmm.devices.Interrupt;
import dev.vmm4j.vmm.devices.NullDevice;
import dev.vmm4j.vmm.devices.Serial;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.kvm.Cpuid;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.VcpuExit;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import dev.vmm4j.vmm.memory.GuestRegion;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * One x86_64 VM's machine, as crosvm sets it up: the in-kernel irqchip and PIT (and the TSS and identity-map pages
 * Intel VMX needs), COM1-4 (16550s; COM1 is the console, IRQs 4 and 3 through irqfds), the i8042 for reset, the CMOS
 * clock and crosvm's null devices; at boot, an ELF vmlinux or a bzImage (decompressed on the host if asked), an initrd,
 * the zero page with e820, the announced devices described either by ACPI tables (RSDP, XSDT, a hardware-reduced FADT
 * whose sleep registers power the VM off, MADT, DSDT; the default) or by a {@code virtio_mmio.device=} parameter per
 * virtio-mmio device on the command line, GDT, page tables and MP table, and vCPUs with filtered CPUID, MSRs and LAPIC
 * LINT0/LINT1 wired. The boot vCPU enters the kernel in 64-bit mode; the others wait, as KVM leaves them, for the
 * INIT/SIPI the kernel sends.
 *
 * <p><b>Thread safety:</b> see {@link ArchMachine}.
 */
final class X86Machine implements ArchMachine {
    /** The parameters before the embedder's: COM1 as the console, reboot through the keyboard controller. */
    static final String BASE_COMMAND_LINE = "console=ttyS0 reboot=k panic=-1";
    /** The boot protocol's initrd ceiling for kernels that do not say (2 GiB - 1). */
    private static final long DEFAULT_INITRD_ADDR_MAX = 0x7fff_ffffL;

    private static final System.Logger LOG = System.getLogger(X86Machine.class.getName());
    /** Whether the warning that KVM did not take the CPUID was given: once per JVM, it is a property of the host. */
    private static final AtomicBoolean CPUID_WARNED = new AtomicBoolean();
    /** Likewise for the warning that KVM does not complete hypercalls. */
    private static final AtomicBoolean HYPERCALLS_WARNED = new AtomicBoolean();
    /**
     * What Linux needs on a KVM that emulates ring 0 and does not take a CPUID table (this project's development
     * machines): it must be told not to use the CPU features that KVM's instruction emulator cannot run (popcnt, cx16,
     * smap, rdtscp, 3dnowprefetch, clflushopt, clwb, ssse3, pclmulqdq, aes, in Linux's feature numbers) nor XSAVE, PCID,
     * INVPCID and FSGSBASE, since hiding them in CPUID has no effect there.
     */
    public static final String EMULATING_KVM_PARAMETERS =
            "clearcpuid=151,141,308,59,200,311,312,137,129,153 noxsave nopcid noinvpcid nofsgsbase";

    private final MachineContext context;
    private final EmulationAssists assists;
    private final boolean adaptLinuxToEmulatingKvm;
    private List<Vcpu> vcpus;

    private X86Machine(MachineContext context, EmulationAssists assists, boolean adaptLinuxToEmulatingKvm) {
        this.context = context;
        this.assists = assists;
        this.adaptLinuxToEmulatingKvm = adaptLinuxToEmulatingKvm;
    }

    /** Creates the irqchip and PIT and puts the platform devices on the I/O bus. */
    static X86Machine create(MachineContext context, EmulationAssists assists, boolean adaptLinuxToEmulatingKvm) {
        context.vm().setIdentityMapAddress(X86Layout.IDENTITY_MAP);
        context.vm().setTssAddress(X86Layout.TSS);
        context.vm().createIrqchip();
        context.vm().createPit2(0);
        addPlatformDevices(context);
        return new X86Machine(context, assists, adaptLinuxToEmulatingKvm);
    }

    private static void addPlatformDevices(MachineContext context) {
        DeviceContext devices = context.devices();
        // COM1 to the embedder's console; COM2-4 exist as Linux expects them, with nothing behind them. COM1 and COM3
        // share IRQ 4, COM2 and COM4 IRQ 3, each IRQ through one irqfd.
        EventFd irq4 = devices.irqfd(4);
        EventFd irq3 = devices.irqfd(3);
        Serial com1 = serial(devices, "ttyS0", irq4, context.console(), 0x3f8);
        context.consoleInput().ifPresent(input -> com1.connectInput(input, devices.threadFactory()));
        serial(devices, "ttyS1", irq3, OutputStream.nullOutputStream(), 0x2f8);
        serial(devices, "ttyS2", irq4, OutputStream.nullOutputStream(), 0x3e8);
        serial(devices, "ttyS3", irq3, OutputStream.nullOutputStream(), 0x2e8);
        devices.ioBus().insert(new I8042(() -> devices.requestExit(new ExitStatus.GuestReset())), 0x60, 5);
        devices.ioBus()
                .insert(
                        new SleepControl(() -> devices.requestExit(new ExitStatus.GuestPowerOff())),
                        SleepControl.CONTROL_PORT,
                        2);
        devices.ioBus().insert(new NullDevice("delay port"), 0xed, 1);
        devices.ioBus().insert(new NullDevice("FPU error ports"), 0xf0, 2);
        devices.ioBus().insert(new NullDevice("PCI configuration (no PCI)"), 0xcf8, 8);
        long below4g = 0;
        long above4g = 0;
        for (GuestRegion region : devices.memory().regions()) {
            if (Long.compareUnsigned(region.start(), X86Layout.FOUR_GIB) < 0) {
                below4g += region.size();
            } else {
                above4g += region.size();
            }
        }
        devices.ioBus().insert(new Cmos(Clock.systemUTC(), below4g, above4g), 0x70, 2);
    }

    /**
     * {@return whether a VM of {@code vcpuCount} vCPUs is offered KVM's hypercall-based paravirtual features} Three of
     * them (PV IPIs, PV sched yield, PV unhalt) serve only a guest of more than one CPU, and Linux leaves them alone in
     * a one-CPU guest; the fourth, HC_MAP_GPA_RANGE, serves confidential guests, which vmm4j does not run. So a
     * one-vCPU VM goes without them and without {@code probe}, which costs a VM, a thread and tens of milliseconds of
     * a launcher's start. A larger VM gets them when the probe says hypercalls complete.
     */
    static boolean offersHypercallFeatures(int vcpuCount, BooleanSupplier probe) {
        return vcpuCount > 1 && probe.getAsBoolean();
    }

    private static Serial serial(DeviceContext devices, String name, EventFd irq, OutputStream output, long port) {
        Serial serial = new Serial(name, Interrupt.of(irq), output);
        devices.closeOnExit(serial);
        devices.ioBus().insert(serial, port, 8);
        return serial;
    }

    @Override
    public Boot boot(BootSpec spec, List<DeviceNode> devices) throws IOException {
        if (vcpus != null) {
            throw new IllegalStateException("this x86_64 machine has booted already");
        }
        // The vCPUs and their CPUID first: whether KVM takes a CPUID table decides what the command line needs.
        boolean hypercalls =
                offersHypercallFeatures(context.vcpuCount(), () -> HypercallProbe.hypercallsComplete(context.kvm()));
        if (!hypercalls && context.vcpuCount() > 1 && HYPERCALLS_WARNED.compareAndSet(false, true)) {
            LOG.log(
                    System.Logger.Level.INFO,
                    "KVM on this host does not complete a guest's hypercalls (a probe's"
                            + " never returned): guests are not offered the paravirtual features that need them (PV IPIs, PV"
                            + " sched yield, PV unhalt), without which Linux could not bring up a second vCPU here");
        }
        List<Vcpu> created = new ArrayList<>();
        Cpuid supported = context.kvm().supportedCpuid();
        boolean cpuidTaken = true;
        for (int id = 0; id < context.vcpuCount(); id++) {
            Vcpu vcpu = context.vm().createVcpu(id);
            created.add(vcpu);
            Cpuid cpuid = CpuidFilter.forVcpu(supported, id, context.vcpuCount(), !hypercalls, spec.cpuidCustomiser());
            vcpu.setCpuid(cpuid);
            if (id == 0) {
                cpuidTaken = checkTaken(cpuid, vcpu.getCpuid());
            }
            VcpuBootState.configureLapic(vcpu);
        }
        vcpus = List.copyOf(created);
        KernelCmdline commandLine = commandLine(spec, devices, !cpuidTaken && adaptLinuxToEmulatingKvm);
        GuestMemory memory = context.devices().memory();
        try {
            LoadedKernel kernel = KernelLoader.load(
                    spec.kernel(),
                    memory,
                    spec.hostDecompression() ? KernelLoader.Decompression.HOST : KernelLoader.Decompression.GUEST);
            byte[] cmdline = commandLine.toCString();
            memory.writeFully(X86Layout.CMDLINE, cmdline);
            BootParams params = new BootParams()
                    .commandLine(X86Layout.CMDLINE, cmdline.length)
                    .e820(BootParams.e820For(memory));
            kernel.setupHeader().ifPresent(params::setupHeader);
            if (spec.initrd().isPresent()) {
                long limit = Math.min(memory.regions().getFirst().size(), initrdLimit(kernel));
                Initrd.Placement initrd = Initrd.load(spec.initrd().get(), memory, kernel.end(), limit);
                params.initrd(initrd.address(), initrd.size());
            }
            if (spec.deviceAnnouncement() == DeviceAnnouncement.FIRMWARE) {
                params.acpiRsdp(AcpiTables.write(memory, context.vcpuCount(), devices));
            }
            params.writeTo(memory, X86Layout.ZERO_PAGE);
            long cr3 = VcpuBootState.writeTables(memory);
            MpTable.write(memory, context.vcpuCount());
            VcpuBootState.configureBootVcpu(vcpus.getFirst(), cr3, kernel.entry(), X86Layout.ZERO_PAGE);
            return new Boot(vcpus, kernel.entry(), commandLine.toString());
        } catch (InvalidKernelException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        } catch (GuestMemoryException e) {
            throw new IllegalArgumentException("the boot structures do not fit in guest memory: " + e.getMessage(), e);
        }
    }

    /**
     * {@return the command line: the architecture's parameters, those that keep Linux off what an emulating KVM
     * cannot run (if {@code forEmulatingKvm}), one {@code virtio_mmio.device=} per device if the spec announces them
     * there (else the ACPI tables do), then the embedder's}
     */
    static KernelCmdline commandLine(BootSpec spec, List<DeviceNode> devices, boolean forEmulatingKvm) {
        KernelCmdline commandLine = new KernelCmdline(X86Layout.CMDLINE_MAX).insertStr(BASE_COMMAND_LINE);
        if (forEmulatingKvm) {
            commandLine.insertStr(EMULATING_KVM_PARAMETERS);
        }
        if (spec.deviceAnnouncement() == DeviceAnnouncement.KERNEL_COMMAND_LINE) {
            for (DeviceNode device : devices) {
                commandLine.insertStr(CommandLineDevices.parameter(device));
            }
        }
        return commandLine.insertStr(spec.commandLine());
    }

    /** {@return where an initrd must end: below the bzImage's initrd_addr_max, and below 2 GiB for a vmlinux} */
    private static long initrdLimit(LoadedKernel kernel) {
        long limit = DEFAULT_INITRD_ADDR_MAX + 1;
        if (kernel.setupHeader().isPresent()) {
            byte[] header = kernel.setupHeader().get();
            int at = (int) setup_header.initrd_addr_max$offset();
            if (header.length >= at + 4) {
                long max = Integer.toUnsignedLong(ByteBuffer.wrap(header, at, 4)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .getInt());
                limit = Math.min(limit, max + 1);
            }
        }
        return limit;
    }

    /**
     * {@return whether KVM_GET_CPUID2 gives back what KVM_SET_CPUID2 was given} Some KVMs (this project's development
     * machines') accept a table and go on showing the guest the host's CPUID, so masking a feature there does nothing;
     * the first such VM of a JVM logs the differences (a note where the machine adapts Linux to it, else a warning).
     */
    private boolean checkTaken(Cpuid set, Cpuid read) {
        List<String> differences = CpuidCheck.differences(set, read);
        if (!differences.isEmpty() && CPUID_WARNED.compareAndSet(false, true)) {
            // Where the machine adapts Linux to it this is a note; where it does not, hidden features leak to the
            // guest.
            LOG.log(
                    adaptLinuxToEmulatingKvm ? System.Logger.Level.INFO : System.Logger.Level.WARNING,
                    "KVM did not take the CPUID vmm4j set (" + differences.size()
                            + " registers differ, such as "
                            + String.join("; ", differences.subList(0, Math.min(3, differences.size())))
                            + "): the guest sees host features vmm4j hid"
                            + (adaptLinuxToEmulatingKvm
                                    ? "; for Linux, the x86_64 machine adds \"" + EMULATING_KVM_PARAMETERS
                                            + "\" to the command line"
                                    : ""));
        }
        return differences.isEmpty();
    }

    private Vcpu vcpu(int vcpu) {
        if (vcpus == null || vcpu < 0 || vcpu >= vcpus.size()) {
            throw new IllegalArgumentException("this machine has no vCPU " + vcpu);
        }
        return vcpus.get(vcpu);
    }

    @Override
    public long programCounter(int vcpu) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = kvm_regs.allocate(arena);
            vcpu(vcpu).getRegs(regs);
            return kvm_regs.rip(regs);
        }
    }

    /**
     * Completes an instruction KVM's emulator failed on, if one of the machine's {@link EmulationAssists} knows it,
     * deciding from the bytes KVM reported and the privilege level (SS.DPL) only.
     */
    @Override
    public boolean assist(int id, VcpuExit.InternalError error) {
        if (error.suberror() != LinuxHeaders.KVM_INTERNAL_ERROR_EMULATION() || !error.hasInstructionBytes()) {
            return false;
        }
        Vcpu vcpu = vcpu(id);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = kvm_regs.allocate(arena);
            MemorySegment sregs = kvm_sregs.allocate(arena);
            vcpu.getRegs(regs);
            vcpu.getSregs(sregs);
            int cpl = kvm_segment.dpl(kvm_sregs.ss(sregs)) & 3;
            FailedInstruction instruction =
                    new FailedInstruction(id, kvm_regs.rip(regs), cpl, error.instructionBytes());
            return assists.complete(instruction, new VcpuControl() {
                @Override
                public void skip(int length) {
                    if (length < 1 || length > FailedInstruction.MAX_LENGTH) {
                        throw new IllegalArgumentException("an instruction is 1 to 15 bytes, not " + length);
                    }
                    kvm_regs.rip(regs, kvm_regs.rip(regs) + length);
                    vcpu.setRegs(regs);
                }

                @Override
                public void injectException(int vector) {
                    if (vector < 0 || vector > 31) {
                        throw new IllegalArgumentException("an exception vector is 0 to 31, not " + vector);
                    }
                    MemorySegment events = kvm_vcpu_events.allocate(arena);
                    vcpu.getVcpuEvents(events);
                    MemorySegment exception = kvm_vcpu_events.exception(events);
                    kvm_vcpu_events.exception.injected(exception, (byte) 1);
                    kvm_vcpu_events.exception.nr(exception, (byte) vector);
                    kvm_vcpu_events.exception.has_error_code(exception, (byte) 0);
                    kvm_vcpu_events.exception.error_code(exception, 0);
                    vcpu.setVcpuEvents(events);
                }
            });
        } catch (RuntimeException e) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "vcpu " + id + ": could not look at or complete the instruction KVM"
                            + " failed on; the VM ends with KVM's error",
                    e);
            return false;
        }
    }

    @Override
    public String toString() {
        return "X86Machine[" + context.vcpuCount() + " vCPUs]";
    }
}
