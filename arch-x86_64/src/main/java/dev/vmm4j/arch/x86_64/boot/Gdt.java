// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.boot;

import dev.vmm4j.kvm.bindings.kvm_segment;
import java.lang.foreign.MemorySegment;

/**
 * The flat GDT a 64-bit kernel starts with, and the segment registers that match it: entries are encoded as the CPU
 * reads them, and {@link #toSegment} decodes one into the {@code kvm_segment} KVM wants, so memory and registers agree
 * (an interrupt reloads CS from the table).
 */
public final class Gdt {
    /** Selector of the 64-bit code segment, GDT entry 1. */
    public static final int CODE_SELECTOR = 0x08;
    /** Selector of the data segment, GDT entry 2. */
    public static final int DATA_SELECTOR = 0x10;
    /** Selector of the TSS, GDT entry 3. */
    public static final int TSS_SELECTOR = 0x18;

    /** null, 64-bit code, data, 32-bit TSS (busy): what crosvm and Firecracker give the kernel. */
    public static final long[] ENTRIES = {
        0,
        entry(0xa09b, 0, 0xfffff), // code: present, DPL 0, execute/read, accessed, L, G
        entry(0xc093, 0, 0xfffff), // data: present, DPL 0, read/write, accessed, D/B, G
        entry(0x808b, 0, 0xfffff), // TSS: present, busy 32-bit TSS, G
    };

    private Gdt() {}

    /** {@return a GDT entry with {@code flags} (access byte in bits 0-7, flags nibble in 12-15), {@code base} and {@code limit}} */
    static long entry(int flags, long base, long limit) {
        return ((base & 0xff00_0000L) << 32)
                | ((flags & 0xf0ffL) << 40)
                | ((limit & 0xf_0000L) << 32)
                | ((base & 0x00ff_ffffL) << 16)
                | (limit & 0xffffL);
    }

    /**
     * Decodes GDT entry {@code entry} at {@code selector} into {@code segment}, a {@code struct kvm_segment}.
     *
     * @param entry the 8-byte descriptor as the CPU reads it, such as one of {@link #ENTRIES}; a not-present one
     *     decodes as unusable
     * @param selector the selector that names it: its index times 8, such as {@link #CODE_SELECTOR}
     * @param segment where it goes, such as {@code kvm_sregs.cs}; every field but the padding is overwritten
     */
    public static void toSegment(long entry, int selector, MemorySegment segment) {
        long base = ((entry >>> 16) & 0xff_ffffL) | ((entry >>> 32) & 0xff00_0000L);
        long limit = (entry & 0xffffL) | ((entry >>> 32) & 0xf_0000L);
        boolean granular = ((entry >>> 55) & 1) != 0;
        kvm_segment.base(segment, base);
        kvm_segment.limit(segment, granular ? (int) ((limit << 12) | 0xfff) : (int) limit);
        kvm_segment.selector(segment, (short) selector);
        kvm_segment.type(segment, (byte) ((entry >>> 40) & 0xf));
        kvm_segment.s(segment, (byte) ((entry >>> 44) & 1));
        kvm_segment.dpl(segment, (byte) ((entry >>> 45) & 3));
        kvm_segment.present(segment, (byte) ((entry >>> 47) & 1));
        kvm_segment.avl(segment, (byte) ((entry >>> 52) & 1));
        kvm_segment.l(segment, (byte) ((entry >>> 53) & 1));
        kvm_segment.db(segment, (byte) ((entry >>> 54) & 1));
        kvm_segment.g(segment, (byte) (granular ? 1 : 0));
        kvm_segment.unusable(segment, (byte) (((entry >>> 47) & 1) == 0 ? 1 : 0));
    }
}
