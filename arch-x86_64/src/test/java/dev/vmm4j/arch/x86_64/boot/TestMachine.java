package dev.vmm4j.arch.x86_64.boot;

import dev.vmm4j.arch.x86_64.devices.Cmos;
import dev.vmm4j.arch.x86_64.devices.I8042;
import dev.vmm4j.arch.x86_64.loader.LoadedKernel;
import dev.vmm4j.vmm.boot.KernelCmdline;
import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.devices.Serial;
import dev.vmm4j.vmm.kvm.CpuidEntry;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.VcpuExit;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * A one-vCPU x86_64 machine put together by hand from the boot pieces (zero page, GDT, page tables, MP table, CPUID,
 * MSRs, LAPIC) and the legacy devices (COM1, i8042, CMOS), with a vCPU loop: what {@code X86_64Arch} and
 * {@code VirtualMachine} will do, for the tests that boot real code before they exist.
 */
final class TestMachine implements AutoCloseable {
    final Kvm kvm;
    final Vm vm;
    final GuestMemoryMmap memory;
    final Vcpu vcpu;
    final StringBuffer console = new StringBuffer();
    private final Bus io = new Bus("io");
    private final long memoryBytes;
    private volatile boolean resetRequested;
    private volatile Predicate<String> until = text -> false;
    private volatile boolean untilMatched;
    private volatile boolean stopRequested;
    /** Counted down when the console matches, or the vCPU loop ends by itself. */
    private final CountDownLatch done = new CountDownLatch(1);

    TestMachine(long memoryBytes) {
        this.memoryBytes = memoryBytes;
        kvm = Kvm.open();
        vm = kvm.createVm();
        memory = GuestMemoryMmap.builder().anonymous(0, memoryBytes).build();
        memory.registerWith(vm);
        vm.setIdentityMapAddress(X86Layout.IDENTITY_MAP);
        vm.setTssAddress(X86Layout.TSS);
        vm.createIrqchip();
        vm.createPit2(0);
        vcpu = vm.createVcpu(0);
        OutputStream serialOut = new OutputStream() {
            @Override
            public void write(int b) {
                console.append((char) b);
                if (b == '\n' && until.test(console.toString())) {
                    untilMatched = true;
                    done.countDown();
                }
            }
        };
        io.insert(new Serial("ttyS0", () -> {
            vm.setIrqLine(4, true);
            vm.setIrqLine(4, false);
        }, serialOut), 0x3f8, 8);
        io.insert(new I8042(() -> resetRequested = true), 0x60, 5);
        io.insert(new Cmos(Clock.systemUTC(), memoryBytes, 0), 0x70, 2);
    }

    /** Writes the boot structures for {@code kernel} with {@code cmdline} and puts the vCPU at its entry. */
    void boot(LoadedKernel kernel, String cmdline, UnaryOperator<CpuidEntry> cpuidCustomiser) throws GuestMemoryException {
        byte[] line = new KernelCmdline(X86Layout.CMDLINE_MAX).insertStr(cmdline).toCString();
        memory.writeFully(X86Layout.CMDLINE, line);
        BootParams params = new BootParams().commandLine(X86Layout.CMDLINE, line.length).e820(BootParams.e820For(memory));
        kernel.setupHeader().ifPresent(params::setupHeader);
        params.writeTo(memory, X86Layout.ZERO_PAGE);
        long cr3 = VcpuBootState.writeTables(memory);
        MpTable.write(memory, 1);
        vcpu.setCpuid(CpuidFilter.forVcpu(kvm.supportedCpuid(), 0, 1, cpuidCustomiser));
        VcpuBootState.configureBootVcpu(vcpu, cr3, kernel.entry(), X86Layout.ZERO_PAGE);
        VcpuBootState.configureLapic(vcpu);
    }

    /**
     * Runs the vCPU until the guest resets or crashes, {@code stopWhen} holds for the console, or {@code timeout}.
     * {@return how it ended: "reset", "stopped", "timeout", or the exit that ended it}
     */
    String run(Duration timeout, Predicate<String> stopWhen) throws InterruptedException {
        until = stopWhen;
        AtomicReference<String> ended = new AtomicReference<>("still running");
        Thread thread = Thread.ofPlatform().name("vcpu-0").start(() -> {
            ended.set(loop());
            done.countDown();
        });
        done.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        stopRequested = true;
        vcpu.kick();
        thread.join(10_000);
        if (ended.get().equals("kicked")) {
            return untilMatched ? "stopped" : "timeout";
        }
        return ended.get();
    }

    private String loop() {
        try (Vcpu.ThreadBinding binding = vcpu.bindToCurrentThread()) {
            while (true) {
                VcpuExit exit = vcpu.run();
                switch (exit) {
                    case VcpuExit.IoOut out -> io.write(out.port(), out.data());
                    case VcpuExit.IoIn in -> {
                        if (!io.read(in.port(), in.data())) {
                            in.data().fill((byte) 0xff); // an open bus reads all ones
                        }
                    }
                    case VcpuExit.MmioRead read -> read.data().fill((byte) 0xff);
                    case VcpuExit.MmioWrite write -> { }
                    case VcpuExit.Intr intr -> {
                        if (stopRequested) {
                            return "kicked";
                        }
                    }
                    default -> {
                        return exit.toString();
                    }
                }
                if (resetRequested) {
                    return "reset";
                }
            }
        } catch (RuntimeException e) {
            return "failed: " + e;
        }
    }

    @Override
    public void close() {
        vm.close();
        kvm.close();
        memory.close();
    }
}
