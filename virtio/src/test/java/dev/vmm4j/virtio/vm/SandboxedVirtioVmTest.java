// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vm;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.guests.Guests;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.VmBuildException;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@link VirtioVmTest}'s tests with every device in a jailed device process: block (raw and qcow2, read-only,
 * locked), entropy and the balloon, reached by the guest's own driver through the proxy, the shared memfd, the
 * ioeventfds and irqfd.
 */
class SandboxedVirtioVmTest extends VirtioVmTest {
    @Override
    VirtualMachineBuilder newBuilder() {
        return VirtualMachine.builder().sandbox(DeviceSandbox.bubblewrap());
    }

    @Override
    void assertRanWhereExpected(VirtioMmio device) {
        assertTrue(device.jailed().isPresent(), device + " ran in the VMM's process");
        assertTrue(device.jailed().get().process().isAlive(), "its device process runs until the VM closes");
    }

    @Test
    void aSandboxWithoutBubblewrapFailsTheBuildWithWhatToDo() throws Exception {
        Path guest = Files.write(dir.resolve("virtio.elf"), Guests.VIRTIO.elf());
        VmBuildException e = assertThrows(
                VmBuildException.class,
                () -> VirtualMachine.builder()
                        .kernel(guest)
                        .sandbox(DeviceSandbox.builder()
                                .bubblewrap(Path.of("/nonexistent/bwrap"))
                                .build())
                        .device(VirtioDevices.rng())
                        .build());
        assertTrue(e.getMessage().contains("/nonexistent/bwrap is not an executable file"), e.getMessage());
    }
}
