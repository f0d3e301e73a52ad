package dev.vmm4j.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.arch.x86_64.devices.Cmos;
import dev.vmm4j.arch.x86_64.devices.I8042;
import dev.vmm4j.arch.x86_64.loader.KernelLoader;
import dev.vmm4j.arch.x86_64.loader.LoadedKernel;
import dev.vmm4j.arch.x86_64.loader.RequiresTestKernel;
import dev.vmm4j.arch.x86_64.loader.TestKernel;
import dev.vmm4j.vmm.boot.KernelCmdline;
import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.devices.Serial;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.VcpuExit;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.time.Clock;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Debian's stock kernel, decompressed on the host and entered at startup_64 with our zero page, GDT, page tables,
 * CPUID, MSRs and MP table, prints its banner, our command line and our e820 map over our 16550 at 0x3f8, and
 * finds our MP table. On this project's
 * emulated KVM it cannot get much further (see DESIGN.md), so the test stops the vCPU once the lines are there.
 */
@RequiresKvm
@RequiresTestKernel
class DebianKernelBootTest {
    private static final long MEMORY = 256L << 20;
    private static final String CMDLINE = "console=ttyS0 earlyprintk=serial,ttyS0,115200 noxsave nokaslr panic=-1";

    @Test
    void linuxPrintsItsBannerOurCommandLineAndOurE820Map() throws Exception {
        StringBuffer console = new StringBuffer();
        CountDownLatch seenAll = new CountDownLatch(1);
        String[] expected = {
            "Linux version 6.1",
            "Command line: " + CMDLINE,
            "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
            "BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable",
            "found SMP MP-table at [mem 0x0009fc00-0x0009fc0f]",
        };
        OutputStream serialOut = new ByteArrayOutputStream() {
            @Override
            public synchronized void write(int b) {
                console.append((char) b);
                if (b == '\n' && containsAll(console, expected)) {
                    seenAll.countDown();
                }
            }
        };
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm();
                GuestMemoryMmap memory = GuestMemoryMmap.builder().anonymous(0, MEMORY).build()) {
            memory.registerWith(vm);
            vm.setIdentityMapAddress(X86Layout.IDENTITY_MAP);
            vm.setTssAddress(X86Layout.TSS);
            vm.createIrqchip();
            vm.createPit2(0);
            Vcpu vcpu = vm.createVcpu(0);

            LoadedKernel kernel = KernelLoader.load(TestKernel.path(), memory, KernelLoader.Decompression.HOST);
            byte[] cmdline = new KernelCmdline(X86Layout.CMDLINE_MAX).insertStr(CMDLINE).toCString();
            memory.writeFully(X86Layout.CMDLINE, cmdline);
            new BootParams()
                    .setupHeader(kernel.setupHeader().orElseThrow())
                    .commandLine(X86Layout.CMDLINE, cmdline.length)
                    .e820(BootParams.e820For(memory))
                    .writeTo(memory, X86Layout.ZERO_PAGE);
            long cr3 = VcpuBootState.writeTables(memory);
            MpTable.write(memory, 1);
            vcpu.setCpuid(CpuidFilter.forVcpu(kvm.supportedCpuid(), 0, 1,
                    CpuidFilter.maskLeaf1Ecx(CpuidFilter.ECX_CX16 | CpuidFilter.ECX_XSAVE | CpuidFilter.ECX_OSXSAVE)));
            VcpuBootState.configureBootVcpu(vcpu, cr3, kernel.entry(), X86Layout.ZERO_PAGE);
            VcpuBootState.configureLapic(vcpu);

            Bus io = new Bus("io");
            io.insert(new Serial("ttyS0", () -> {
                vm.setIrqLine(4, true);
                vm.setIrqLine(4, false);
            }, serialOut), 0x3f8, 8);
            io.insert(new I8042(() -> {}), 0x60, 5);
            io.insert(new Cmos(Clock.systemUTC(), MEMORY, 0), 0x70, 2);

            AtomicReference<String> ended = new AtomicReference<>("still running");
            Thread vcpuThread = Thread.ofPlatform().name("vcpu-0").start(() -> ended.set(runUntilStopped(vcpu, io, seenAll)));
            boolean seen = seenAll.await(90, TimeUnit.SECONDS);
            seenAll.countDown();
            vcpu.kick();
            vcpuThread.join(10_000);
            // Kept for whoever wants to see how far the kernel got.
            java.nio.file.Files.writeString(java.nio.file.Path.of("target", "debian-kernel-console.txt"), console);
            assertTrue(seen, "expected " + String.join(" / ", expected) + " on the console; the vCPU " + ended.get()
                    + "; console:\n" + console);
        }
    }

    /** The vCPU loop: port I/O to the bus, MMIO reads as all-ones; {@return how it ended} */
    private static String runUntilStopped(Vcpu vcpu, Bus io, CountDownLatch stop) {
        try (Vcpu.ThreadBinding binding = vcpu.bindToCurrentThread()) {
            while (stop.getCount() > 0) {
                switch (vcpu.run()) {
                    case VcpuExit.IoOut out -> io.write(out.port(), out.data());
                    case VcpuExit.IoIn in -> {
                        if (!io.read(in.port(), in.data())) {
                            in.data().fill((byte) 0xff); // nothing there: an open bus reads all ones
                        }
                    }
                    case VcpuExit.MmioRead read -> read.data().fill((byte) 0xff);
                    case VcpuExit.MmioWrite write -> { }
                    case VcpuExit.Intr intr -> { }
                    case VcpuExit exit -> {
                        return "stopped with " + exit;
                    }
                }
            }
            return "was stopped by the test";
        } catch (RuntimeException e) {
            return "failed: " + e;
        }
    }

    private static boolean containsAll(CharSequence text, String[] needles) {
        String s = text.toString();
        for (String needle : needles) {
            if (!s.contains(needle)) {
                return false;
            }
        }
        return true;
    }
}
