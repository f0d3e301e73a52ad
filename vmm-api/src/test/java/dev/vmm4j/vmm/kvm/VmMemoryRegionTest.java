// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.vmm.testing.RequiresKvm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Memory slots: the ranges {@link Vm#setUserMemoryRegion} takes, and what it keeps while KVM maps them. */
@RequiresKvm
class VmMemoryRegionTest {
    private static final Set<MemorySlotFlag> NO_FLAGS = EnumSet.noneOf(MemorySlotFlag.class);

    @Test
    void rangesAreUnsignedAndOnlyOnesPastTwoToTheSixtyFourAreRefused() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm();
                Arena arena = Arena.ofConfined()) {
            MemorySegment page = arena.allocate(4096, 4096);
            // Ending exactly at 2^63 (last byte 2^63 - 1), and starting at 2^63: legal unsigned ranges. KVM itself
            // may refuse them (an x86 host refuses guest frames above its MAXPHYADDR), but not this method's check.
            for (long start : new long[] {(1L << 63) - 4096, 1L << 63}) {
                try {
                    vm.setUserMemoryRegion(0, start, page, NO_FLAGS);
                    vm.removeUserMemoryRegion(0);
                } catch (KvmException e) {
                    assertTrue(e.getMessage().startsWith("KVM_SET_USER_MEMORY_REGION failed: "), e.getMessage());
                }
            }
            // Ending at 2^64 or past it: the end does not fit in 64 bits.
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> vm.setUserMemoryRegion(0, -4096, page, NO_FLAGS));
            assertTrue(e.getMessage().contains("runs past the end of the 64-bit"), e.getMessage());
            MemorySegment twoPages = arena.allocate(8192, 4096);
            assertThrows(IllegalArgumentException.class, () -> vm.setUserMemoryRegion(0, -4096, twoPages, NO_FLAGS));
        }
    }
}
