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

    @Test
    void standardDevicesNeedTheVirtioModule() {
        // This module's tests run without dev.vmm4j:virtio on the class path.
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> VirtualMachine.builder().kernel(Path.of("/nonexistent/vmlinux")).rng().build());
        assertEquals("cannot build the VM: kernel /nonexistent/vmlinux is not a readable file; disk(), rng() and balloon() need vmm4j's"
                + " virtio module: add the dev.vmm4j:virtio dependency", e.getMessage());
    }

    @Test
    void toStringListsDevicesInOrder() {
        VirtualMachineBuilder builder = VirtualMachine.builder().disk(Path.of("/a.img")).rng().disk(Path.of("/b.img"), true);
        assertEquals("VirtualMachineBuilder[vcpus=1, disk=/a.img, rng, disk=/b.img (read-only)]", builder.toString());
        assertThrows(NullPointerException.class, () -> builder.disk(null));
        assertThrows(NullPointerException.class, () -> builder.device(null));
    }
}
