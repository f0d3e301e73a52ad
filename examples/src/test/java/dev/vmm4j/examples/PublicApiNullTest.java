// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.common.testing.NullPointerTester;
import dev.vmm4j.examples.control.ControlProtocol;
import dev.vmm4j.examples.control.VirtualMachineControl;
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
 * {@link VirtualMachineControl} takes a {@link VirtualMachine}, so it is checked where KVM is, with a real one (built,
 * never started).
 */
class PublicApiNullTest {
    @TempDir
    Path dir;

    @Test
    void everyPublicConstructorAndStaticMethodChecksForNull() {
        NullPointerTester tester = new NullPointerTester()
                .setDefault(ControlProtocol.Request.class, new ControlProtocol.Status()); // sealed: no proxy
        List<Class<?>> checked = PublicApi.checkNulls(
                tester, PublicApi.classes(Path.of("target/classes")), Set.of(VirtualMachineControl.class.getName()));
        assertFalse(checked.isEmpty());
    }

    @Test
    @RequiresKvm
    void theVirtualMachineControlChecksForNullToo() throws Exception {
        Path hello = Files.write(dir.resolve("hello.elf"), Guests.HELLO.elf());
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(16))
                .kernel(hello)
                .serial(OutputStream.nullOutputStream())
                .build()) {
            NullPointerTester tester = new NullPointerTester()
                    .setDefault(VirtualMachine.class, vm)
                    .setDefault(ControlProtocol.Request.class, new ControlProtocol.Status()); // sealed: no proxy
            PublicApi.checkNulls(tester, List.of(VirtualMachineControl.class), Set.of());
        }
    }
}
