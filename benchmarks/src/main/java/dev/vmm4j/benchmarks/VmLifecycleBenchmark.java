// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.benchmarks;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.kvm_regs;
import dev.vmm4j.kvm.bindings.kvm_segment;
import dev.vmm4j.kvm.bindings.kvm_sregs;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.MemorySlotFlag;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.VcpuExit;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A whole VM's life, 256 MiB and one vCPU: made, run to its first exit, closed. Sampled (JMH's SampleTime), so that the
 * percentiles show the tail as well as the typical cost:
 * <ul>
 *   <li>{@link #virtualMachine}: what an embedder does, {@code VirtualMachine.builder()...build()}, {@code run()} and
 *       {@code close()}: the arch's boot (page tables, zero page, ACPI tables, CPUID), the serial and i8042 devices,
 *       the vCPU thread and the device event loop; the guest's first instruction resets the machine through the i8042
 *       (an {@code out}), which ends the VM.
 *   <li>{@link #typedKvm}: the fewest KVM calls (the C baseline's, one for one) through vmm4j's typed KVM layer:
 *       a real-mode vCPU at a HLT, run on the benchmark's thread.
 *   <li>{@link #c}: the same sequence in C ({@code benchmarks/target/libvmlifecycle.so}, built by this module, called
 *       through FFM in the same fork).
 *   <li>{@link #cWithIrqchip}: the C sequence with KVM's in-kernel interrupt controllers and PIT, as vmm4j's x86
 *       machine has them: the baseline for {@link #virtualMachine}, since creating and destroying them in the kernel
 *       is most of a VM's life here.
 * </ul>
 * Needs /dev/kvm, and to be run from the repository root (or with {@code -Dvmm4j.lifecycleLibrary=PATH}).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class VmLifecycleBenchmark {
    private static final long MEMORY = VirtualMachineBuilder.MiB(256);
    /** mov al, 0xfe | out 0x64, al (the i8042's reset) | hlt */
    private static final byte[] RESET_GUEST = {(byte) 0xb0, (byte) 0xfe, (byte) 0xe6, 0x64, (byte) 0xf4};

    private static final long GUEST_ADDRESS = 0x20_0000;

    private Arena arena;
    private Path kernel;
    private MethodHandle cLifecycle;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        arena = Arena.ofShared();
        kernel = Files.createTempFile("vmm4j-lifecycle", ".elf");
        Files.write(kernel, elf(RESET_GUEST, GUEST_ADDRESS));
        Path library = Path.of(System.getProperty("vmm4j.lifecycleLibrary", "benchmarks/target/libvmlifecycle.so"));
        if (!Files.isRegularFile(library)) {
            throw new IllegalStateException(library.toAbsolutePath() + " is missing: build the benchmarks module and"
                    + " run from the repository root, or pass -Dvmm4j.lifecycleLibrary=PATH");
        }
        cLifecycle = Linker.nativeLinker()
                .downcallHandle(
                        SymbolLookup.libraryLookup(library, arena).findOrThrow("vmm4j_c_lifecycle"),
                        FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        Files.deleteIfExists(kernel);
        arena.close();
    }

    /** A 64-bit ELF executable of one PT_LOAD segment holding {@code code} at {@code address}, its entry. */
    static byte[] elf(byte[] code, long address) {
        int headers = 64 + 56;
        ByteBuffer b = ByteBuffer.allocate(headers + code.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        b.putShort((short) 2).putShort((short) 62).putInt(1); // ET_EXEC, EM_X86_64, EV_CURRENT
        b.putLong(address).putLong(64).putLong(0); // entry, program headers, no section headers
        b.putInt(0).putShort((short) 64).putShort((short) 56).putShort((short) 1); // flags, sizes, one program header
        b.putShort((short) 64).putShort((short) 0).putShort((short) 0);
        b.putInt(1).putInt(5); // PT_LOAD, R+X
        b.putLong(headers).putLong(address).putLong(address); // offset, vaddr, paddr
        b.putLong(code.length).putLong(code.length).putLong(1); // filesz, memsz, align
        b.put(code);
        return b.array();
    }

    /** An embedder's VM: built, run until the guest's first instruction resets it, closed. */
    @Benchmark
    public ExitStatus virtualMachine() throws InterruptedException {
        try (VirtualMachine vm =
                VirtualMachine.builder().memory(MEMORY).vcpus(1).kernel(kernel).build()) {
            ExitStatus status = vm.run();
            if (!(status instanceof ExitStatus.GuestReset)) {
                throw new IllegalStateException("the guest did not reset the machine: " + status.description());
            }
            return status;
        }
    }

    /** The C baseline's calls, one for one, through vmm4j's typed KVM layer. */
    @Benchmark
    public VcpuExit typedKvm() {
        try (Arena vmArena = Arena.ofConfined();
                Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm()) {
            vm.setTssAddress(0xfffb_d000L);
            MemorySegment memory = Libc.mmap(
                    MEMORY,
                    LinuxHeaders.PROT_READ() | LinuxHeaders.PROT_WRITE(),
                    LinuxHeaders.MAP_PRIVATE() | LinuxHeaders.MAP_ANONYMOUS() | LinuxHeaders.MAP_NORESERVE(),
                    -1,
                    0,
                    vmArena,
                    "guest memory");
            memory.set(ValueLayout.JAVA_BYTE, 0x1000, (byte) 0xf4); // hlt
            vm.setUserMemoryRegion(0, 0, memory, EnumSet.noneOf(MemorySlotFlag.class));
            try (Vcpu vcpu = vm.createVcpu(0)) {
                MemorySegment sregs = kvm_sregs.allocate(vmArena);
                vcpu.getSregs(sregs);
                kvm_segment.base(kvm_sregs.cs(sregs), 0);
                kvm_segment.selector(kvm_sregs.cs(sregs), (short) 0);
                vcpu.setSregs(sregs);
                MemorySegment regs = kvm_regs.allocate(vmArena);
                kvm_regs.rip(regs, 0x1000);
                kvm_regs.rflags(regs, 2);
                vcpu.setRegs(regs);
                VcpuExit exit = vcpu.run();
                if (!(exit instanceof VcpuExit.Hlt)) {
                    throw new IllegalStateException("the first exit was not the HLT: " + exit);
                }
                return exit;
            }
        }
    }

    /** The same calls in C. */
    @Benchmark
    public long c() throws Throwable {
        return cLifecycle(0);
    }

    /** The C sequence with KVM's in-kernel interrupt controllers and PIT, as vmm4j's x86 machine makes them. */
    @Benchmark
    public long cWithIrqchip() throws Throwable {
        return cLifecycle(1);
    }

    private long cLifecycle(int irqchip) throws Throwable {
        long result = (long) cLifecycle.invokeExact(MEMORY, irqchip);
        if (result != 0) {
            throw new IllegalStateException("the C lifecycle failed: errno " + -result);
        }
        return result;
    }
}
