// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.benchmarks;

import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What an idle VM costs the host while it lives: starts N VMs of 256 MiB and one vCPU (default 100) whose guest halts
 * with interrupts off (so its vCPU sleeps in the kernel), and prints the process's resident memory, Java heap and
 * thread count before and with them, per VM. Not a JMH benchmark: it measures memory, not time.
 *
 * <p>Run from the repository root: {@code java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar
 * dev.vmm4j.benchmarks.IdleVmFootprint [N]}.
 */
public final class IdleVmFootprint {
    /** cli | hlt | jmp back to the hlt */
    private static final byte[] IDLE_GUEST = {(byte) 0xfa, (byte) 0xf4, (byte) 0xeb, (byte) 0xfd};

    private IdleVmFootprint() {}

    public static void main(String[] args) throws Exception {
        int count = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        Path kernel = Files.createTempFile("vmm4j-idle", ".elf");
        List<VirtualMachine> vms = new ArrayList<>();
        try {
            Files.write(kernel, VmLifecycleBenchmark.elf(IDLE_GUEST, 0x20_0000));
            startAndClose(kernel); // class loading and JIT warm-up, outside the measurement
            Sample before = Sample.take();
            for (int i = 0; i < count; i++) {
                VirtualMachine vm = VirtualMachine.builder()
                        .memory(VirtualMachineBuilder.MiB(256))
                        .vcpus(1)
                        .kernel(kernel)
                        .build();
                vms.add(vm);
                vm.start();
            }
            Thread.sleep(2_000); // every vCPU reaches its HLT
            Sample with = Sample.take();
            System.out.printf(
                    "%d idle VMs: resident %+.1f MiB (%.0f KiB each), Java heap used %+.1f MiB (%.0f KiB each),"
                            + " threads %+d (%.1f each)%n",
                    count,
                    (with.rssKib - before.rssKib) / 1024.0,
                    (with.rssKib - before.rssKib) / (double) count,
                    (with.heapBytes - before.heapBytes) / 1048576.0,
                    (with.heapBytes - before.heapBytes) / 1024.0 / count,
                    with.threads - before.threads,
                    (with.threads - before.threads) / (double) count);
        } finally {
            for (VirtualMachine vm : vms) {
                vm.stop();
                vm.close();
            }
            Files.deleteIfExists(kernel);
        }
    }

    private static void startAndClose(Path kernel) throws Exception {
        try (VirtualMachine vm = VirtualMachine.builder().kernel(kernel).build()) {
            vm.start();
            Thread.sleep(200);
            vm.stop();
        }
    }

    private static long field(List<String> status, String name) {
        return status.stream()
                .filter(line -> line.startsWith(name))
                .mapToLong(line -> Long.parseLong(line.replaceAll("[^0-9]", "")))
                .findFirst()
                .orElseThrow();
    }

    /** The process's resident set (VmRSS), the heap in use after a GC, and its threads (the JVM's own included). */
    private record Sample(long rssKib, long heapBytes, int threads) {
        static Sample take() throws Exception {
            System.gc();
            List<String> status = Files.readAllLines(Path.of("/proc/self/status"));
            Runtime runtime = Runtime.getRuntime();
            return new Sample(field(status, "VmRSS:"), runtime.totalMemory() - runtime.freeMemory(), (int)
                    field(status, "Threads:"));
        }
    }
}
