// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.boot;

/**
 * Where things go in an x86_64 guest's physical memory, as crosvm lays it out.
 *
 * <pre>
 *  0x0000_0500  GDT (null, code64 0x08, data 0x10, TSS 0x18)
 *  0x0000_0520  IDT (empty: the kernel installs its own)
 *  0x0000_7000  zero page (boot_params)
 *  0x0000_8000  initial stack top (grows down)
 *  0x0000_9000  PML4, 0xa000 PDPT, 0xb000 page directory: the first 1 GiB identity-mapped with 2 MiB pages
 *  0x0002_0000  kernel command line
 *  0x0009_fc00  end of low RAM (EBDA and the BIOS area above)
 *  0x000e_0000  ACPI tables (RSDP first, where the legacy search finds it), up to 1 MiB
 *  0x0010_0000  RAM for the kernel and everything else, up to the MMIO hole
 *  0xd000_0000  MMIO hole up to 4 GiB (virtio-mmio windows, IOAPIC 0xfec0_0000, LAPIC 0xfee0_0000)
 *  4 GiB        the rest of RAM
 * </pre>
 */
public final class X86Layout {
    /** Guest-physical address of the GDT. */
    public static final long GDT = 0x500;
    /** Guest-physical address of the IDT, left empty for the kernel to fill. */
    public static final long IDT = 0x520;
    /** Guest-physical address of the zero page ({@code struct boot_params}). */
    public static final long ZERO_PAGE = 0x7000;
    /** Initial stack pointer of the boot vCPU; the stack grows down from here. */
    public static final long BOOT_STACK_TOP = 0x8000;
    /** Guest-physical address of the boot page tables' PML4. */
    public static final long PML4 = 0x9000;
    /** Guest-physical address of the boot page tables' PDPT. */
    public static final long PDPT = 0xa000;
    /** Guest-physical address of the page directory that maps the first 1 GiB with 2 MiB pages. */
    public static final long PAGE_DIRECTORY = 0xb000;
    /** Guest-physical address of the kernel command line. */
    public static final long CMDLINE = 0x2_0000;
    /** The longest kernel command line in bytes, the terminating NUL included. */
    public static final int CMDLINE_MAX = 2048;
    /** End of low RAM: the EBDA and the BIOS area start here. */
    public static final long EBDA_START = 0x9_fc00;
    /** Where the ACPI tables go, RSDP first: the BIOS area a legacy RSDP search scans (0xe0000-0xfffff). */
    public static final long ACPI_TABLES = 0xe_0000;
    /** Start of the RAM for the kernel and everything else (1 MiB). */
    public static final long HIGH_MEMORY_START = 0x10_0000;
    /** Start of the MMIO hole that runs up to 4 GiB. */
    public static final long MMIO_HOLE_START = 0xd000_0000L;
    /** 4 GiB: the end of the MMIO hole, where the rest of RAM starts. */
    public static final long FOUR_GIB = 1L << 32;
    /** Where KVM's Intel real-mode helpers go: the identity-map page and three TSS pages, just under the BIOS. */
    public static final long IDENTITY_MAP = 0xfffb_c000L;

    /** Guest-physical address of the three TSS pages KVM needs on Intel ({@code KVM_SET_TSS_ADDR}). */
    public static final long TSS = 0xfffb_d000L;

    private X86Layout() {}
}
