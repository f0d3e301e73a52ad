// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * On an aarch64 host with /dev/kvm: Debian's arm64 kernel, booted through {@code VirtualMachine.builder()} (which finds
 * AArch64Arch with ServiceLoader), prints its banner over vmm4j's UART. On any other host it is skipped with that
 * reason. To run it there: {@code scripts/fetch-arm64-test-kernel && ./mvnw -B verify}.
 */
@RequiresKvm
class AArch64BootTest {
    @Test
    void debiansKernelPrintsItsBanner() throws Exception {
        assumeTrue(
                "aarch64".equals(System.getProperty("os.arch")),
                "needs an aarch64 host with /dev/kvm; this one is " + System.getProperty("os.arch"));
        Path kernel = Path.of(System.getProperty("vmm4j.arm64TestKernel", ""));
        assumeTrue(
                Files.isRegularFile(kernel),
                "Debian's arm64 kernel is not at " + kernel + " (scripts/fetch-arm64-test-kernel)");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(512))
                .vcpus(2)
                .kernel(kernel)
                .serial(console)
                .build()) {
            vm.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!console.toString(StandardCharsets.UTF_8).contains("Booting Linux on physical CPU")
                    && System.nanoTime() < deadline
                    && vm.exitStatus().isEmpty()) {
                Thread.sleep(100);
            }
            vm.stop();
        }
        assertTrue(
                console.toString(StandardCharsets.UTF_8).contains("Booting Linux on physical CPU"), console.toString());
    }
}
