// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.benchmarks;

import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.IntToLongFunction;

/**
 * What jailing a device costs the host outside its data path: the time to build and close a VM (256 MiB, one vCPU,
 * never run) with one {@code VirtioDevices.rng()}, in this process and in a device process under
 * {@link DeviceSandbox#bubblewrap()}, N times each (default 10) after a warm-up, mean and min; and the memory a device
 * process holds: VmRSS (and Pss, shared pages split with the processes that share them) of bubblewrap's processes and
 * of the device's JVM, once it is ready. Not a JMH benchmark: one VM build is milliseconds to a second, and the memory
 * is not a time.
 *
 * <p>The jailed build includes what {@code VirtualMachineBuilder.build()} does for a sandbox: a trial run of
 * {@code bwrap} (timed on its own too), guest memory as a memfd, and the device JVM's start up to its ready message.
 *
 * <p>Needs /dev/kvm and bubblewrap; run from the repository root: {@code java --enable-native-access=ALL-UNNAMED -cp
 * benchmarks/target/benchmarks.jar dev.vmm4j.benchmarks.DeviceProcessCost [N]}.
 */
public final class DeviceProcessCost {
    /** cli | hlt: the VM is never run, but its kernel must load. */
    private static final byte[] HALT_GUEST = {(byte) 0xfa, (byte) 0xf4};

    private static final int WARM_UP = 3;

    private DeviceProcessCost() {}

    public static void main(String[] args) throws Exception {
        int count = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        DeviceSandbox sandbox = DeviceSandbox.bubblewrap();
        List<String> problems = sandbox.problems();
        if (!problems.isEmpty()) {
            System.err.println("the device sandbox cannot run here: " + String.join("; ", problems));
            System.exit(1);
        }
        Path kernel = Files.createTempFile("vmm4j-device-process", ".elf");
        try {
            Files.write(kernel, VmLifecycleBenchmark.elf(HALT_GUEST, 0x20_0000));
            for (int i = 0; i < WARM_UP; i++) { // class loading and JIT, in both JVMs' paths
                buildAndClose(kernel, null);
                buildAndClose(kernel, sandbox);
            }
            Timings inProcess = new Timings(count);
            Timings jailed = new Timings(count);
            long[] probe = new long[count];
            for (int i = 0; i < count; i++) { // interleaved, so that a noisy moment hits both
                inProcess.add(i, buildAndClose(kernel, null));
                jailed.add(i, buildAndClose(kernel, sandbox));
                long start = System.nanoTime();
                sandbox.problems();
                probe[i] = System.nanoTime() - start;
            }
            System.out.printf(
                    Locale.ROOT,
                    "VM build + close with one virtio-rng, %d times after %d warm-ups (ms)%n",
                    count,
                    WARM_UP);
            System.out.printf(
                    Locale.ROOT,
                    "%-34s %9s %9s %9s %9s %9s %9s%n",
                    "",
                    "build",
                    "(min)",
                    "close",
                    "(min)",
                    "total",
                    "(min)");
            inProcess.print("rng in process");
            jailed.print("rng in a device process");
            System.out.printf(
                    Locale.ROOT,
                    "%-34s %9.1f %9.1f%n",
                    "  of the jailed build: bwrap probe",
                    mean(i -> probe[i], count) / 1e6,
                    min(i -> probe[i], count) / 1e6);
            footprint(kernel, sandbox);
        } finally {
            Files.deleteIfExists(kernel);
        }
    }

    /** {@return the build's and the close's nanoseconds} of a VM with one rng, jailed if {@code sandbox} is not null. */
    private static long[] buildAndClose(Path kernel, DeviceSandbox sandbox) {
        long start = System.nanoTime();
        VirtualMachine vm = builder(kernel, VirtioDevices.rng(), sandbox).build();
        long built = System.nanoTime();
        vm.close();
        long closed = System.nanoTime();
        return new long[] {built - start, closed - built};
    }

    private static VirtualMachineBuilder builder(Path kernel, VirtioMmio rng, DeviceSandbox sandbox) {
        VirtualMachineBuilder builder = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(256))
                .vcpus(1)
                .kernel(kernel)
                .device(rng);
        return sandbox == null ? builder : builder.sandbox(sandbox);
    }

    /** Prints the resident memory of a jailed rng's processes, a second after its VM is built. */
    private static void footprint(Path kernel, DeviceSandbox sandbox) throws Exception {
        VirtioMmio rng = VirtioDevices.rng();
        try (VirtualMachine vm = builder(kernel, rng, sandbox).build()) {
            Thread.sleep(1_000); // the device JVM's start-up is over
            if (rng.jailed().isEmpty()) {
                throw new IllegalStateException("the rng did not go to a device process");
            }
            // The jail's processes: bwrap, the bwrap inside its pid namespace and the device's JVM, which are this
            // JVM's only descendants now (JailedAttachment.process().processes() says the same, but its package,
            // dev.vmm4j.virtio.jail, is not exported to this module).
            List<ProcessHandle> processes =
                    ProcessHandle.current().descendants().toList();
            System.out.printf(Locale.ROOT, "%nresident memory of the device process of virtio-rng (KiB)%n");
            System.out.printf(Locale.ROOT, "%-8s %-8s %9s %9s  %s%n", "process", "pid", "VmRSS", "Pss", "command");
            long rssTotal = 0;
            long pssTotal = 0;
            for (ProcessHandle process : processes) {
                String command = process.info().command().orElse("?");
                String role = command.endsWith("/java") ? "jvm" : command.endsWith("bwrap") ? "bwrap" : "other";
                OptionalLong rss = kib(process.pid(), "status", "VmRSS:");
                OptionalLong pss = kib(process.pid(), "smaps_rollup", "Pss:");
                rssTotal += rss.orElse(0);
                pssTotal += pss.orElse(0);
                System.out.printf(
                        Locale.ROOT, "%-8s %-8d %9s %9s  %s%n", role, process.pid(), text(rss), text(pss), command);
            }
            System.out.printf(Locale.ROOT, "%-8s %-8s %9d %9d%n", "total", "", rssTotal, pssTotal);
            OptionalLong self = kib(ProcessHandle.current().pid(), "status", "VmRSS:");
            System.out.printf(Locale.ROOT, "(the VMM's own JVM, for scale: VmRSS %s KiB)%n", text(self));
        }
    }

    /** {@return the value in KiB of the line starting with {@code field} of /proc/PID/{@code file}, if readable} */
    private static OptionalLong kib(long pid, String file, String field) {
        try {
            Optional<String> line = Files.readAllLines(Path.of("/proc", Long.toString(pid), file)).stream()
                    .filter(l -> l.startsWith(field))
                    .findFirst();
            return line.isPresent()
                    ? OptionalLong.of(Long.parseLong(line.get().replaceAll("[^0-9]", "")))
                    : OptionalLong.empty();
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty(); // gone, or not ours to read
        }
    }

    private static String text(OptionalLong value) {
        return value.isPresent() ? Long.toString(value.getAsLong()) : "-";
    }

    private static double mean(IntToLongFunction value, int count) {
        long sum = 0;
        for (int i = 0; i < count; i++) {
            sum += value.applyAsLong(i);
        }
        return sum / (double) count;
    }

    private static long min(IntToLongFunction value, int count) {
        long min = Long.MAX_VALUE;
        for (int i = 0; i < count; i++) {
            min = Math.min(min, value.applyAsLong(i));
        }
        return min;
    }

    /** The build and close times of N VMs, in nanoseconds. */
    private record Timings(long[] build, long[] close) {
        Timings(int count) {
            this(new long[count], new long[count]);
        }

        void add(int i, long[] buildAndClose) {
            build[i] = buildAndClose[0];
            close[i] = buildAndClose[1];
        }

        void print(String what) {
            int n = build.length;
            System.out.printf(
                    Locale.ROOT,
                    "%-34s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f%n",
                    what,
                    mean(i -> build[i], n) / 1e6,
                    min(i -> build[i], n) / 1e6,
                    mean(i -> close[i], n) / 1e6,
                    min(i -> close[i], n) / 1e6,
                    mean(i -> build[i] + close[i], n) / 1e6,
                    min(i -> build[i] + close[i], n) / 1e6);
        }
    }
}
