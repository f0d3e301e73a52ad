// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.vm;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.arch.x86_64.boot.CpuidFilter;
import dev.vmm4j.arch.x86_64.loader.RequiresTestKernel;
import dev.vmm4j.arch.x86_64.loader.TestKernel;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Debian's stock kernel through {@code VirtualMachine.builder()}: its bzImage decompressed on the host and entered at
 * startup_64, it prints its banner, our command line (the machine's parameters, those it adds on an emulating KVM, then
 * ours) and our e820 map over our COM1, and finds our MP table. On this
 * project's emulated KVM it cannot get much further (see DESIGN.md), so the test stops the VM once the lines are there.
 */
@RequiresKvm
@RequiresTestKernel
class DebianKernelBootTest {
    /** earlyprintk: with console=ttyS0 alone the log reaches the console only when the serial driver starts, much later. */
    private static final String PARAMETERS = "earlyprintk=serial,ttyS0,115200 noxsave nokaslr";

    private static final List<String> EXPECTED = List.of(
            "Linux version 6.1",
            "Command line: console=ttyS0 reboot=k panic=-1 ",
            PARAMETERS,
            "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
            "BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable",
            "found SMP MP-table at [mem 0x0009fc00-0x0009fc0f]");

    @Test
    void linuxPrintsItsBannerOurCommandLineAndOurE820Map() throws Exception {
        StringBuffer console = new StringBuffer();
        VirtualMachine[] running = new VirtualMachine[1];
        OutputStream serial = new OutputStream() {
            @Override
            public void write(int b) {
                console.append((char) b);
                if (b == '\n' && EXPECTED.stream().allMatch(console.toString()::contains)) {
                    running[0].stop();
                }
            }
        };
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(256))
                .kernel(TestKernel.path())
                .cmdline(PARAMETERS)
                .serial(serial)
                // This project's emulated KVM cannot run cmpxchg16b or xsave: hide them, as DESIGN.md says.
                .cpuid(CpuidFilter.maskLeaf1Ecx(CpuidFilter.ECX_CX16 | CpuidFilter.ECX_XSAVE | CpuidFilter.ECX_OSXSAVE))
                .build()) {
            running[0] = vm;
            vm.start();
            Optional<ExitStatus> status = vm.awaitExit(Duration.ofSeconds(90));
            Files.writeString(Path.of("target", "debian-kernel-console.txt"), console); // how far the kernel got
            assertTrue(status.isPresent(), "still running after 90 s; console:\n" + console);
            assertInstanceOf(
                    ExitStatus.HostStop.class,
                    status.get(),
                    "expected " + EXPECTED + " on the console, then a stop; console:\n" + console);
        }
    }
}
