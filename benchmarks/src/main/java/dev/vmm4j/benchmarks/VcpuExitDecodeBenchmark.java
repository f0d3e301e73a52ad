// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.benchmarks;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.kvm_run;
import dev.vmm4j.vmm.kvm.KvmRun;
import dev.vmm4j.vmm.kvm.VcpuExit;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Decoding a vCPU exit from {@code kvm_run} and reading its fields, as the exit loop does after every
 * {@code KVM_RUN}: the {@link KvmRun} flyweight over a {@code kvm_run}-shaped segment that holds a port-I/O write
 * ({@code io}), an MMIO write ({@code mmio}) or a HLT ({@code hlt}). Run with {@code -prof gc}: it must show 0 B/op.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class VcpuExitDecodeBenchmark {
    @Param({"io", "mmio", "hlt"})
    public String exit;

    private Arena arena;
    private KvmRun run;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofConfined();
        MemorySegment segment = arena.allocate(3 * 4096, 4096);
        long io = kvm_run.io$offset();
        long mmio = kvm_run.mmio$offset();
        switch (exit) {
            case "io" -> {
                segment.set(ValueLayout.JAVA_INT, kvm_run.exit_reason$offset(), LinuxHeaders.KVM_EXIT_IO());
                segment.set(ValueLayout.JAVA_BYTE, io + kvm_run.io.direction$offset(), (byte)
                        LinuxHeaders.KVM_EXIT_IO_OUT());
                segment.set(ValueLayout.JAVA_BYTE, io + kvm_run.io.size$offset(), (byte) 1);
                segment.set(ValueLayout.JAVA_SHORT, io + kvm_run.io.port$offset(), (short) 0x3f8);
                segment.set(ValueLayout.JAVA_INT, io + kvm_run.io.count$offset(), 1);
                segment.set(ValueLayout.JAVA_LONG, io + kvm_run.io.data_offset$offset(), 4096L);
                segment.set(ValueLayout.JAVA_BYTE, 4096, (byte) 'x');
            }
            case "mmio" -> {
                segment.set(ValueLayout.JAVA_INT, kvm_run.exit_reason$offset(), LinuxHeaders.KVM_EXIT_MMIO());
                segment.set(ValueLayout.JAVA_LONG, mmio + kvm_run.mmio.phys_addr$offset(), 0xd000_0000L);
                segment.set(ValueLayout.JAVA_INT, mmio + kvm_run.mmio.data$offset(), 0x1234_5678);
                segment.set(ValueLayout.JAVA_INT, mmio + kvm_run.mmio.len$offset(), 4);
                segment.set(ValueLayout.JAVA_BYTE, mmio + kvm_run.mmio.is_write$offset(), (byte) 1);
            }
            case "hlt" -> segment.set(ValueLayout.JAVA_INT, kvm_run.exit_reason$offset(), LinuxHeaders.KVM_EXIT_HLT());
            default -> throw new IllegalArgumentException("unknown exit " + exit);
        }
        run = KvmRun.wrap(segment);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** Decodes the exit and reads what a dispatcher needs from it. */
    @Benchmark
    public long decode() {
        return switch (run.exit()) {
            case VcpuExit.IoOut out -> out.port() + out.value() + out.data().byteSize();
            case VcpuExit.IoIn in -> in.port() + in.data().byteSize();
            case VcpuExit.MmioWrite write ->
                write.address() + write.value() + write.data().byteSize();
            case VcpuExit.MmioRead read -> read.address() + read.data().byteSize();
            case VcpuExit.Hlt hlt -> hlt.reason();
            default -> -1;
        };
    }
}
