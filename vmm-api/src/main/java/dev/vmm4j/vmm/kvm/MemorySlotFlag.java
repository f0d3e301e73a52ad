// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import java.util.Set;

/** How KVM treats a memory slot ({@code KVM_MEM_*} flags of {@code KVM_SET_USER_MEMORY_REGION}). */
public enum MemorySlotFlag {
    /** Track guest writes, for {@link Vm#getDirtyLog(int)} ({@code KVM_MEM_LOG_DIRTY_PAGES}). */
    LOG_DIRTY_PAGES((int) LinuxHeaders.KVM_MEM_LOG_DIRTY_PAGES()),
    /** Guest writes exit to userspace as MMIO writes ({@code KVM_MEM_READONLY}; needs {@link Capability#READONLY_MEM}). */
    READONLY((int) LinuxHeaders.KVM_MEM_READONLY());

    final int bit;

    MemorySlotFlag(int bit) {
        this.bit = bit;
    }

    static int bits(Set<MemorySlotFlag> flags) {
        int bits = 0;
        for (MemorySlotFlag flag : flags) {
            bits |= flag.bit;
        }
        return bits;
    }
}
