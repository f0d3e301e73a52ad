// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.boot;

import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;

/**
 * The page tables a 64-bit kernel is entered with: the first 1 GiB identity-mapped with 2 MiB pages (one PML4 entry,
 * one PDPT entry, one page directory), as crosvm builds them. Linux replaces them early; a test guest that touches
 * MMIO above 1 GiB maps it itself.
 */
public final class PageTables {
    private static final long PRESENT_WRITABLE = 0x3;
    private static final long PAGE_SIZE_2M = 0x80;

    private PageTables() {}

    /**
     * Writes the tables at {@link X86Layout#PML4}.
     *
     * @param memory the guest memory; the three 4 KiB tables from {@link X86Layout#PML4} to the end of
     *     {@link X86Layout#PAGE_DIRECTORY} are overwritten
     * @return the value for CR3
     * @throws GuestMemoryException if guest memory does not hold those pages
     */
    public static long writeIdentityMap(GuestMemory memory) throws GuestMemoryException {
        memory.putLong(X86Layout.PML4, X86Layout.PDPT | PRESENT_WRITABLE);
        memory.putLong(X86Layout.PDPT, X86Layout.PAGE_DIRECTORY | PRESENT_WRITABLE);
        for (long i = 0; i < 512; i++) {
            memory.putLong(X86Layout.PAGE_DIRECTORY + 8 * i, (i << 21) | PRESENT_WRITABLE | PAGE_SIZE_2M);
        }
        return X86Layout.PML4;
    }
}
