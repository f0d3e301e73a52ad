// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vm;

import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.jail.DeviceSandbox;

/**
 * {@link VirtioVmTest}'s tests with every device in a jailed device process: block (raw, read-only, locked), entropy
 * and the balloon, reached by the guest's own driver through the proxy, the shared memfd, the ioeventfds and irqfd.
 */
class SandboxedVirtioVmTest extends VirtioVmTest {
    @Override
    VirtualMachineBuilder newBuilder() {
        return VirtualMachine.builder().sandbox(DeviceSandbox.bubblewrap());
    }
}
