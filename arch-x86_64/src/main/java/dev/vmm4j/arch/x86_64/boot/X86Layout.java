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
 *  0x0010_0000  RAM for the kernel and everything else, up to the MMIO hole
 *  0xd000_0000  MMIO hole up to 4 GiB (virtio-mmio windows, IOAPIC 0xfec0_0000, LAPIC 0xfee0_0000)
 *  4 GiB        the rest of RAM
 * </pre>
 */
public final class X86Layout {
    public static final long GDT = 0x500;
    public static final long IDT = 0x520;
    public static final long ZERO_PAGE = 0x7000;
    public static final long BOOT_STACK_TOP = 0x8000;
    public static final long PML4 = 0x9000;
    public static final long PDPT = 0xa000;
    public static final long PAGE_DIRECTORY = 0xb000;
    public static final long CMDLINE = 0x2_0000;
    public static final int CMDLINE_MAX = 2048;
    public static final long EBDA_START = 0x9_fc00;
    public static final long HIGH_MEMORY_START = 0x10_0000;
    public static final long MMIO_HOLE_START = 0xd000_0000L;
    public static final long FOUR_GIB = 1L << 32;
    /** Where KVM's Intel real-mode helpers go: the identity-map page and three TSS pages, just under the BIOS. */
    public static final long IDENTITY_MAP = 0xfffb_c000L;

    public static final long TSS = 0xfffb_d000L;

    private X86Layout() {}
}
