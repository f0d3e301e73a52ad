package dev.vmm4j.arch.x86_64.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The builder's checks, all made before KVM is touched. */
class BuilderTest {
    @Test
    void everyProblemIsReportedInOneMessage() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> VirtualMachine.builder().initrd(Path.of("/nonexistent/initrd")).build());
        assertEquals("cannot build the VM: no kernel: call kernel(path); initrd /nonexistent/initrd is not a readable file",
                e.getMessage());
    }

    @Test
    void settersCheckTheirValuesAtOnce() {
        VirtualMachineBuilder builder = VirtualMachine.builder();
        assertEquals("memory must be a multiple of 4 KiB and at least 16 MiB, got 1000 bytes",
                assertThrows(IllegalArgumentException.class, () -> builder.memory(1000)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> builder.vcpus(0));
        assertThrows(NullPointerException.class, () -> builder.kernel(null));
        builder.kernel(Path.of("/a"));
        assertEquals("kernel was already set to /a",
                assertThrows(IllegalStateException.class, () -> builder.kernel(Path.of("/b"))).getMessage());
        assertEquals("VirtualMachineBuilder[vcpus=1, kernel=/a]", builder.toString());
    }
}
