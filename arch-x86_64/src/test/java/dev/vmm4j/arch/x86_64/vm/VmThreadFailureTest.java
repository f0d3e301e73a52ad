// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.guests.Guests;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.bus.BusDevice;
import dev.vmm4j.vmm.testing.Leaks;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A vCPU thread that dies of anything ends the VM with a failure that names it: the hello guest writes a POST code to
 * port 0x80, where each test puts a device that throws. Before this was so, an {@link Error} ended the vCPU thread
 * without an exit status and {@code run()} never returned.
 */
@RequiresKvm
class VmThreadFailureTest {
    @TempDir
    static Path dir;

    static Path hello;

    @BeforeAll
    static void guest() throws Exception {
        hello = Files.write(dir.resolve("hello.elf"), Guests.HELLO.elf());
        runOnce(() ->
                new IllegalStateException("warm-up")); // class loading and the kick signal's first use, before counting
    }

    static Stream<Arguments> throwables() {
        return Stream.of(
                Arguments.of(
                        "AssertionError", (Supplier<Throwable>) () -> new AssertionError("device invariant broken")),
                Arguments.of("StackOverflowError", (Supplier<Throwable>) StackOverflowError::new),
                Arguments.of(
                        "LinkageError", (Supplier<Throwable>) () -> new NoClassDefFoundError("dev/example/Missing")),
                Arguments.of("OutOfMemoryError", (Supplier<Throwable>) () -> new OutOfMemoryError("Java heap space")),
                Arguments.of(
                        "RuntimeException", (Supplier<Throwable>) () -> new IllegalStateException("device broke")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("throwables")
    void aBusDeviceThatThrowsEndsTheVmWithAFailureNamingTheVcpu(String kind, Supplier<Throwable> throwable)
            throws Exception {
        long fds = Leaks.openDescriptors();
        Throwable thrown = throwable.get();
        ExitStatus status = runOnce(() -> thrown);
        ExitStatus.Failure failure = assertInstanceOf(ExitStatus.Failure.class, status);
        assertEquals("vcpu-0", failure.what());
        assertSame(thrown, failure.cause());
        assertTrue(status.description().startsWith("vcpu-0 failed: "), status.description());
        assertEquals(fds, Leaks.openDescriptors(), "file descriptors");
        assertEquals(List.of(), Leaks.liveThreadsNamed("vcpu-0"), "threads");
    }

    @Test
    void aRealStackOverflowInADeviceEndsTheVm() throws Exception {
        long fds = Leaks.openDescriptors();
        ExitStatus status = run(new BusDevice() {
            @Override
            public void read(long offset, MemorySegment data) {}

            @Override
            public void write(long offset, MemorySegment data) {
                recurse(0);
            }

            private int recurse(int depth) {
                return recurse(depth + 1) + 1;
            }
        });
        ExitStatus.Failure failure = assertInstanceOf(ExitStatus.Failure.class, status);
        assertEquals("vcpu-0", failure.what());
        assertInstanceOf(StackOverflowError.class, failure.cause());
        assertEquals(fds, Leaks.openDescriptors(), "file descriptors");
    }

    /** close() waits for the VM's threads, so on one of them it refuses, and the VM ends with that as the reason. */
    @Test
    void closingTheVmFromItsOwnVcpuThreadIsRefusedNotADeadlock() throws Exception {
        VirtualMachine[] self = new VirtualMachine[1];
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(16))
                .kernel(hello)
                .serial(new ByteArrayOutputStream())
                .ioDevice(
                        new BusDevice() {
                            @Override
                            public void read(long offset, MemorySegment data) {}

                            @Override
                            public void write(long offset, MemorySegment data) {
                                self[0].close();
                            }
                        },
                        0x80,
                        1)
                .build()) {
            self[0] = vm;
            vm.start();
            ExitStatus status = vm.awaitExit(Duration.ofSeconds(60)).orElseThrow(() -> new AssertionError("no exit"));
            ExitStatus.Failure failure = assertInstanceOf(ExitStatus.Failure.class, status);
            assertEquals("vcpu-0", failure.what());
            assertTrue(
                    failure.cause().getMessage().startsWith("close() waits for the VM's threads"),
                    status.description());
        }
    }

    private static ExitStatus runOnce(Supplier<Throwable> throwable) throws Exception {
        return run(new BusDevice() {
            @Override
            public void read(long offset, MemorySegment data) {}

            @Override
            public void write(long offset, MemorySegment data) {
                Throwable t = throwable.get();
                if (t instanceof RuntimeException e) {
                    throw e;
                }
                throw (Error) t;
            }
        });
    }

    private static ExitStatus run(BusDevice postCodePort) throws Exception {
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(16))
                .kernel(hello)
                .serial(new ByteArrayOutputStream())
                .ioDevice(postCodePort, 0x80, 1)
                .build()) {
            vm.start();
            Optional<ExitStatus> status = vm.awaitExit(Duration.ofSeconds(60));
            assertTrue(status.isPresent(), "the VM did not end after its vCPU thread died");
            return status.get();
        }
    }
}
