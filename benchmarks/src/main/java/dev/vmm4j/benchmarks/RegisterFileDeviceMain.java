// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.benchmarks;

import dev.vmm4j.vmm.bus.BusDevice;
import dev.vmm4j.vmm.jail.BusProxyServer;
import dev.vmm4j.vmm.jail.DeviceControl;
import dev.vmm4j.vmm.jail.FdSocket;
import dev.vmm4j.vmm.jail.SeccompFilter;
import dev.vmm4j.vmm.jail.SyscallPolicy;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * The main class of {@link ProxiedRegisterBenchmark}'s device process: connects to the VMM's socket ({@code args[0]}),
 * installs the JVM's seccomp filter ({@link SyscallPolicy#jvm()}), as a jailed device does before it touches guest
 * data, and serves a {@link RegisterFile} through a {@link BusProxyServer} until the VMM hangs up. Started by
 * {@code DeviceProcess.start}, under bubblewrap, not by hand.
 *
 * <p>The classes it needs after the filter is in come from the benchmarks jar, which the JVM already holds open: run
 * it from {@code benchmarks.jar}, not from a class directory (the filter forbids opening files).
 */
public final class RegisterFileDeviceMain {
    private RegisterFileDeviceMain() {}

    /**
     * 256 bytes of registers that keep what is written to them; an access that runs outside them reads all ones and
     * writes nothing, as absent hardware does.
     *
     * <p><b>Thread safety:</b> safe for concurrent use (accesses take the object's lock).
     */
    public static final class RegisterFile implements BusDevice {
        /** The size of the register file in bytes. */
        public static final int SIZE_BYTES = 256;

        private final MemorySegment registers = Arena.ofAuto().allocate(SIZE_BYTES, 8);

        @Override
        public synchronized void read(long offset, MemorySegment data) {
            if (offset < 0 || offset > SIZE_BYTES - data.byteSize()) {
                data.fill((byte) 0xff);
            } else {
                MemorySegment.copy(registers, offset, data, 0, data.byteSize());
            }
        }

        @Override
        public synchronized void write(long offset, MemorySegment data) {
            if (offset >= 0 && offset <= SIZE_BYTES - data.byteSize()) {
                MemorySegment.copy(data, 0, registers, offset, data.byteSize());
            }
        }
    }

    /** Serves one register file; {@code args[0]} is the path of the VMM's socket. */
    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: RegisterFileDeviceMain SOCKET (started by DeviceProcess, not by hand)");
            System.exit(2);
        }
        try (FdSocket socket = FdSocket.connect(Path.of(args[0]))) {
            DeviceControl control = (selector, argument) -> {
                throw new IllegalArgumentException("the register file has no operation " + selector);
            };
            BusProxyServer server = new BusProxyServer(socket, new RegisterFile(), control);
            SeccompFilter.compile(SyscallPolicy.jvm()).install();
            server.serve();
        } catch (Exception | LinkageError e) {
            System.err.println("register file device: " + e);
            e.printStackTrace();
            Runtime.getRuntime().halt(1);
        }
        Runtime.getRuntime().halt(0);
    }
}
