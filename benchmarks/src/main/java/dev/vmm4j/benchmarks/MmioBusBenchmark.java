// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.benchmarks;

import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.bus.BusDevice;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
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
 * MMIO bus dispatch as a vCPU's exit loop does it: {@code devices} 4 KiB windows from 0xd0000000, each holding one
 * 32-bit register, and 4-byte reads and writes at uniformly random addresses inside them (4096 addresses drawn with
 * xorshift before measuring). Run with {@code -prof gc}: dispatch must show 0 B/op.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class MmioBusBenchmark {
    private static final long BASE = 0xd000_0000L;
    private static final long WINDOW = 0x1000;
    private static final int ADDRESSES = 4096;

    /** A device with one 32-bit register, as a virtio-mmio status register is; safe for concurrent vCPUs. */
    static final class Register32 implements BusDevice {
        private static final VarHandle VALUE;

        static {
            try {
                VALUE = MethodHandles.lookup().findVarHandle(Register32.class, "value", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        @SuppressWarnings("unused") // accessed through VALUE
        private int value;

        @Override
        public void read(long offset, MemorySegment data) {
            data.set(ValueLayout.JAVA_INT_UNALIGNED, 0, (int) VALUE.getAcquire(this) + (int) offset);
        }

        @Override
        public void write(long offset, MemorySegment data) {
            VALUE.setRelease(this, data.get(ValueLayout.JAVA_INT_UNALIGNED, 0));
        }
    }

    @Param({"1", "16", "256"})
    public int devices;

    private final long[] addresses = new long[ADDRESSES];
    private Register32[] registers;
    private Bus bus;
    private Arena arena;
    private MemorySegment data;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        bus = new Bus("mmio");
        registers = new Register32[devices];
        for (int i = 0; i < devices; i++) {
            registers[i] = new Register32();
            bus.insert(registers[i], BASE + i * WINDOW, WINDOW);
        }
        long x = 0x9e37_79b9_7f4a_7c15L;
        for (int i = 0; i < ADDRESSES; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            long device = Long.remainderUnsigned(x, devices);
            long offset = (x >>> 32) % (WINDOW - 4);
            addresses[i] = BASE + device * WINDOW + offset;
        }
        arena = Arena.ofShared(); // as the vCPU's kvm_run mapping, which other threads kick
        data = arena.allocate(8).asSlice(0, 4); // as kvm_run's mmio.data for a 4-byte access
        data.set(ValueLayout.JAVA_INT, 0, 42);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public boolean write() {
        return bus.write(addresses[next++ & (ADDRESSES - 1)], data);
    }

    /** The same write with the device found by arithmetic: what the harness and the device cost without a bus. */
    @Benchmark
    public boolean writeWithoutBus() {
        long address = addresses[next++ & (ADDRESSES - 1)];
        long index = (address - BASE) >>> 12;
        registers[(int) index].write(address - BASE - index * WINDOW, data);
        return true;
    }

    @Benchmark
    public boolean read() {
        return bus.read(addresses[next++ & (ADDRESSES - 1)], data);
    }
}
