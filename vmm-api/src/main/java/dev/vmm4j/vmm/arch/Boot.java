// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.arch;

import dev.vmm4j.vmm.kvm.Vcpu;
import java.util.List;
import java.util.Objects;

/**
 * What {@link ArchMachine#boot} did: the vCPUs it created and set up, in id order, ready to run; the kernel's entry
 * point; and the kernel command line as it wrote it.
 */
public record Boot(List<Vcpu> vcpus, long entryPoint, String commandLine) {
    /** Copies the list. */
    public Boot {
        vcpus = List.copyOf(vcpus);
        Objects.requireNonNull(commandLine, "commandLine");
    }
}
