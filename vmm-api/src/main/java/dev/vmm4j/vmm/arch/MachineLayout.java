// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.arch;

import dev.vmm4j.vmm.resources.SystemAllocator;
import java.util.List;
import java.util.Objects;

/**
 * Where one VM's RAM goes in the guest-physical address space, and the allocator of the interrupt lines and address
 * ranges its devices may take (fresh for this VM).
 *
 * @param ram the RAM regions, in the order the VM maps them; copied, at least one
 * @param allocator the interrupt lines and address ranges the VM's devices may take; not null
 */
public record MachineLayout(List<RamRegion> ram, SystemAllocator allocator) {
    /** Copies the regions; there must be at least one. */
    public MachineLayout {
        ram = List.copyOf(ram);
        Objects.requireNonNull(allocator, "allocator");
        if (ram.isEmpty()) {
            throw new IllegalArgumentException("a machine needs at least one RAM region");
        }
    }
}
