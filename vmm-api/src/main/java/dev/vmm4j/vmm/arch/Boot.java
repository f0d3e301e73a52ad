// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.arch;

import dev.vmm4j.vmm.kvm.Vcpu;
import java.util.List;
import java.util.Objects;

/**
 * What {@link ArchMachine#boot} did: the vCPUs it created and set up, in id order, ready to run; the kernel's entry
 * point; and the kernel command line as it wrote it.
 *
 * @param vcpus every vCPU, in id order from 0, set up to boot (the boot vCPU at the kernel's entry point); the list
 *     is copied, and the VM owns and closes the vCPUs
 * @param entryPoint the guest-physical address the boot vCPU starts the kernel at; informational, as the vCPUs
 *     already hold it
 * @param commandLine the whole kernel command line as the guest gets it (the architecture's parameters, those that
 *     announce devices, then the embedder's), without the terminating NUL
 */
public record Boot(List<Vcpu> vcpus, long entryPoint, String commandLine) {
    /** Copies the list. */
    public Boot {
        vcpus = List.copyOf(vcpus);
        Objects.requireNonNull(commandLine, "commandLine");
    }
}
