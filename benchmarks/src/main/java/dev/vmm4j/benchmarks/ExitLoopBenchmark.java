// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.benchmarks;

import dev.vmm4j.kvm.bindings.kvm_regs;
import dev.vmm4j.kvm.bindings.kvm_segment;
import dev.vmm4j.kvm.bindings.kvm_sregs;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.MemorySlotFlag;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.VcpuExit;
import dev.vmm4j.vmm.kvm.Vm;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of one vCPU exit round trip through vmm4j: a real-mode guest at 0x1000 runs
 * {@code mov cx, 1000; l: out 0x80, al; loop l; hlt}, and {@link #javaLoop} runs it to the HLT through
 * {@code Vcpu.run()}, looking at each exit as a VMM does. {@link #cLoop} runs the same guest on the same vCPU with a
 * minimal C loop ({@code benchmarks/target/libexitloop.so}, built by this module, called through FFM), so both are
 * measured in the same JVM fork under the same conditions. Needs /dev/kvm, and to be run from the repository root
 * (or with {@code -Dvmm4j.exitLoopLibrary=PATH}). Run with {@code -prof gc}: the Java loop allocates nothing.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class ExitLoopBenchmark {
    static final int EXITS = 1000;
    /** b9 e8 03: mov cx, 1000 | e6 80: out 0x80, al | e2 fc: loop -4 | f4: hlt */
    private static final byte[] GUEST = {
        (byte) 0xb9, (byte) EXITS, (byte) (EXITS >> 8), (byte) 0xe6, (byte) 0x80, (byte) 0xe2, (byte) 0xfc, (byte) 0xf4
    };

    private Arena arena;
    private Kvm kvm;
    private Vm vm;
    private Vcpu vcpu;
    private MemorySegment regs;
    private MethodHandle cLoop;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        kvm = Kvm.open();
        vm = kvm.createVm();
        MemorySegment memory = arena.allocate(1 << 20, 4096);
        MemorySegment.copy(GUEST, 0, memory, ValueLayout.JAVA_BYTE, 0x1000, GUEST.length);
        vm.setUserMemoryRegion(0, 0, memory, EnumSet.noneOf(MemorySlotFlag.class));
        vm.setTssAddress(0xfffb_d000L);
        vcpu = vm.createVcpu(0);
        MemorySegment sregs = kvm_sregs.allocate(arena);
        vcpu.getSregs(sregs);
        kvm_segment.base(kvm_sregs.cs(sregs), 0);
        kvm_segment.selector(kvm_sregs.cs(sregs), (short) 0);
        vcpu.setSregs(sregs);
        regs = kvm_regs.allocate(arena);
        Path library = Path.of(System.getProperty("vmm4j.exitLoopLibrary", "benchmarks/target/libexitloop.so"));
        if (!Files.isRegularFile(library)) {
            throw new IllegalStateException(
                    library.toAbsolutePath() + " is missing: build the benchmarks module and run "
                            + "from the repository root, or pass -Dvmm4j.exitLoopLibrary=PATH");
        }
        cLoop = Linker.nativeLinker()
                .downcallHandle(
                        SymbolLookup.libraryLookup(library, arena).findOrThrow("vmm4j_c_exit_loop"),
                        FunctionDescriptor.of(
                                ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        vm.close();
        kvm.close();
        arena.close();
    }

    private void resetRegisters() {
        regs.fill((byte) 0);
        kvm_regs.rip(regs, 0x1000);
        kvm_regs.rflags(regs, 2);
    }

    /** Runs the guest from the start to its HLT in C: {@value #EXITS} port-I/O exits. */
    @Benchmark
    @OperationsPerInvocation(EXITS)
    public long cLoop() throws Throwable {
        resetRegisters();
        long exits = (long) cLoop.invokeExact(vcpu.fd(), vcpu.kvmRun().segment(), regs);
        if (exits != EXITS) {
            throw new IllegalStateException("the C loop saw " + exits + " exits");
        }
        return exits;
    }

    /** Runs the guest from the start to its HLT through {@code Vcpu.run()}: {@value #EXITS} port-I/O exits. */
    @Benchmark
    @OperationsPerInvocation(EXITS)
    public int javaLoop() {
        resetRegisters();
        vcpu.setRegs(regs);
        int ports = 0;
        while (true) {
            VcpuExit exit = vcpu.run();
            if (exit instanceof VcpuExit.IoOut out) {
                ports += out.port();
            } else if (exit instanceof VcpuExit.Hlt) {
                return ports;
            } else {
                throw new IllegalStateException("unexpected exit " + exit);
            }
        }
    }
}
