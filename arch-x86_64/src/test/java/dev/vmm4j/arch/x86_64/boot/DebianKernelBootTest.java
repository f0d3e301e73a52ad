package dev.vmm4j.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vmm4j.arch.x86_64.loader.KernelLoader;
import dev.vmm4j.arch.x86_64.loader.LoadedKernel;
import dev.vmm4j.arch.x86_64.loader.RequiresTestKernel;
import dev.vmm4j.arch.x86_64.loader.TestKernel;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Debian's stock kernel, decompressed on the host and entered at startup_64 with our zero page, GDT, page tables,
 * CPUID, MSRs and MP table, prints its banner, our command line and our e820 map over our 16550 at 0x3f8, and finds
 * our MP table. On this project's emulated KVM it cannot get much further (see DESIGN.md), so the test stops the
 * vCPU once the lines are there.
 */
@RequiresKvm
@RequiresTestKernel
class DebianKernelBootTest {
    private static final String CMDLINE = "console=ttyS0 earlyprintk=serial,ttyS0,115200 noxsave nokaslr panic=-1";
    private static final List<String> EXPECTED = List.of(
            "Linux version 6.1",
            "Command line: " + CMDLINE,
            "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
            "BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable",
            "found SMP MP-table at [mem 0x0009fc00-0x0009fc0f]");

    @Test
    void linuxPrintsItsBannerOurCommandLineAndOurE820Map() throws Exception {
        try (TestMachine machine = new TestMachine(256L << 20)) {
            LoadedKernel kernel = KernelLoader.load(TestKernel.path(), machine.memory, KernelLoader.Decompression.HOST);
            // This project's emulated KVM cannot run cmpxchg16b or xsave: hide them, as DESIGN.md says.
            machine.boot(kernel, CMDLINE,
                    CpuidFilter.maskLeaf1Ecx(CpuidFilter.ECX_CX16 | CpuidFilter.ECX_XSAVE | CpuidFilter.ECX_OSXSAVE));
            String ended = machine.run(Duration.ofSeconds(90), console -> EXPECTED.stream().allMatch(console::contains));
            String console = machine.console.toString();
            Files.writeString(Path.of("target", "debian-kernel-console.txt"), console); // how far the kernel got
            assertEquals("stopped", ended, "expected " + EXPECTED + " on the console; console:\n" + console);
        }
    }
}
