// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.benchmarks;

import dev.vmm4j.benchmarks.RegisterFileDeviceMain.RegisterFile;
import dev.vmm4j.vmm.bus.BusDevice;
import dev.vmm4j.vmm.jail.BusProxy;
import dev.vmm4j.vmm.jail.BusProxyServer;
import dev.vmm4j.vmm.jail.DeviceLaunch;
import dev.vmm4j.vmm.jail.DeviceProcess;
import dev.vmm4j.vmm.jail.DeviceProcessException;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import dev.vmm4j.vmm.jail.FdSocket;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
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
 * What a jailed device costs a vCPU per register access: one 4-byte read and one 4-byte write of a 256-byte
 * {@link RegisterFile}, reached three ways ({@code path}):
 * <ul>
 *   <li>{@code inProcess}: the register file called directly, as an unjailed device's transport is by the bus;
 *   <li>{@code socketPair}: a {@link BusProxy} to a {@link BusProxyServer} on a thread of this JVM over
 *       {@link FdSocket#pair()}: the socket round trip (send, poll, read on each side, two thread wake-ups) without
 *       a process boundary;
 *   <li>{@code deviceProcess}: a {@link BusProxy} to a real device process, {@link RegisterFileDeviceMain} started
 *       by {@link DeviceProcess#start} under {@link DeviceSandbox#bubblewrap()} with the JVM's seccomp filter
 *       installed, as a jailed virtio device's transport is reached.
 * </ul>
 * The bus's own dispatch is not included (see {@link MmioBusBenchmark}). Each operation goes to the next 4-byte
 * register, round the file. Run with {@code -prof gc}: the proxied access must show 0 B/op too, as the proxy keeps
 * its buffers. JMH's gc profiler counts every thread of this JVM (the {@code socketPair} server's too, not the device
 * process's), and at some 10 µs an access its own background allocation shows as about 0.1 B/op.
 *
 * <p>Needs bubblewrap ({@code bwrap}) and user namespaces for {@code deviceProcess}, and must run from
 * {@code benchmarks.jar} (the device JVM gets this JVM's class path): {@code java -jar benchmarks/target/benchmarks.jar
 * ProxiedRegisterBenchmark -prof gc}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class ProxiedRegisterBenchmark {
    private static final int REGISTERS = RegisterFile.SIZE_BYTES / 4;

    @Param({"inProcess", "socketPair", "deviceProcess"})
    public String path;

    private BusDevice target;
    private Arena arena;
    private MemorySegment data;
    private int next;
    private FdSocket[] pair;
    private Thread server;
    private DeviceProcess process;
    private volatile DeviceProcessException failure;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        arena = Arena.ofShared(); // as the vCPU's kvm_run mapping, whose mmio.data holds the access
        // The first close(2) links its downcall (most of a MiB of method handles); done here, not in the tear-down,
        // which JMH counts in the last iteration's B/op.
        for (FdSocket end : FdSocket.pair()) {
            end.close();
        }
        data = arena.allocate(8).asSlice(0, 4);
        target = switch (path) {
            case "inProcess" -> new RegisterFile();
            case "socketPair" -> {
                pair = FdSocket.pair();
                BusProxyServer served = new BusProxyServer(pair[1], new RegisterFile(), (selector, argument) -> {
                    throw new IllegalArgumentException("no operation " + selector);
                });
                server = Thread.ofPlatform()
                        .daemon()
                        .name("register-file-server")
                        .start(() -> {
                            try {
                                served.serve();
                            } catch (IOException e) {
                                failure = new DeviceProcessException(
                                        "the register file's server failed: " + e.getMessage());
                            }
                        });
                yield proxy(pair[0]);
            }
            case "deviceProcess" -> {
                process = DeviceProcess.start(
                        DeviceSandbox.bubblewrap(),
                        new DeviceLaunch("register-file", RegisterFileDeviceMain.class.getName(), List.of(), List.of()),
                        Thread.ofPlatform()
                                .daemon()
                                .name("register-file-process-", 0)
                                .factory(),
                        death -> failure = death);
                yield proxy(process.socket());
            }
            default -> throw new IllegalArgumentException("no path " + path);
        };
        // Each register once, read back: the path works before it is timed.
        for (int register = 0; register < REGISTERS; register++) {
            data.set(ValueLayout.JAVA_INT, 0, register * 31);
            target.write(register * 4L, data);
        }
        for (int register = 0; register < REGISTERS; register++) {
            target.read(register * 4L, data);
            if (data.get(ValueLayout.JAVA_INT, 0) != register * 31) {
                throw new IllegalStateException(path + ": register " + register + " reads back "
                        + data.get(ValueLayout.JAVA_INT, 0) + ", not " + register * 31);
            }
        }
    }

    /** A proxy whose failure fails the benchmark, rather than reading all ones from then on. */
    private BusProxy proxy(FdSocket socket) {
        return new BusProxy("register-file", socket, DeviceSandbox.DEFAULT_REQUEST_TIMEOUT, broken -> {
            failure = broken;
            throw broken;
        });
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
        if (process != null) {
            process.close();
        }
        if (pair != null) {
            pair[0].close(); // the server sees the hang-up and returns
            server.join(5_000);
            pair[1].close();
        }
        arena.close();
        if (failure != null) {
            throw failure;
        }
    }

    /** One 4-byte register read; returns the value so that it cannot be optimised away. */
    @Benchmark
    public int read4() {
        target.read((next++ & (REGISTERS - 1)) * 4L, data);
        return data.get(ValueLayout.JAVA_INT, 0);
    }

    /** One 4-byte register write of a changing value. */
    @Benchmark
    public void write4() {
        int register = next++ & (REGISTERS - 1);
        data.set(ValueLayout.JAVA_INT, 0, register);
        target.write(register * 4L, data);
    }
}
