package dev.vmm4j.examples;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.common.testing.NullPointerTester;
import dev.vmm4j.examples.control.ControlProtocol;
import dev.vmm4j.guests.Guests;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.testing.PublicApi;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every public constructor and static method of this module's exported packages refuses null with a NullPointerException.
 * A {@link VirtualMachine} is among the parameter types, so the tester gets a real one (built, never started).
 */
@RequiresKvm
class PublicApiNullTest {
    @TempDir
    Path dir;

    @Test
    void everyPublicConstructorAndStaticMethodChecksForNull() throws Exception {
        Path hello = Files.write(dir.resolve("hello.elf"), Guests.HELLO.elf());
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(16))
                .kernel(hello)
                .serial(OutputStream.nullOutputStream())
                .build()) {
            NullPointerTester tester = new NullPointerTester()
                    .setDefault(VirtualMachine.class, vm)
                    .setDefault(ControlProtocol.Request.class, new ControlProtocol.Status()); // sealed: no proxy
            List<Class<?>> checked =
                    PublicApi.checkNulls(tester, PublicApi.classes(Path.of("target/classes")), Set.of());
            assertFalse(checked.isEmpty());
        }
    }
}
