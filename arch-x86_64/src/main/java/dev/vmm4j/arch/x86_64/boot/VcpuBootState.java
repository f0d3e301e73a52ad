// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.boot;

import dev.vmm4j.kvm.bindings.kvm_dtable;
import dev.vmm4j.kvm.bindings.kvm_fpu;
import dev.vmm4j.kvm.bindings.kvm_lapic_state;
import dev.vmm4j.kvm.bindings.kvm_regs;
import dev.vmm4j.kvm.bindings.kvm_sregs;
import dev.vmm4j.vmm.kvm.MsrEntry;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Puts a boot vCPU where the 64-bit Linux boot protocol wants it: long mode with paging on the identity map, flat
 * segments from {@link Gdt}, {@code rip} at the kernel entry and {@code rsi} at the zero page, a clean FPU, the MSRs
 * crosvm sets, and local APIC LINT0 as ExtINT and LINT1 as NMI.
 */
public final class VcpuBootState {
    private static final long CR0_PE = 1;
    private static final long CR0_ET = 1 << 4;
    private static final long CR0_PG = 1L << 31;
    private static final long CR4_PAE = 1 << 5;
    private static final long EFER_LME = 1 << 8;
    private static final long EFER_LMA = 1 << 10;
    private static final int APIC_LVT0 = 0x350;
    private static final int APIC_LVT1 = 0x360;
    private static final int APIC_MODE_NMI = 0x4;
    private static final int APIC_MODE_EXTINT = 0x7;

    /** The MSRs crosvm initialises, zero but for MISC_ENABLE's fast-strings bit. */
    static final List<MsrEntry> BOOT_MSRS = List.of(
            new MsrEntry(0x174, 0), // IA32_SYSENTER_CS
            new MsrEntry(0x175, 0), // IA32_SYSENTER_ESP
            new MsrEntry(0x176, 0), // IA32_SYSENTER_EIP
            new MsrEntry(0xc0000081, 0), // STAR
            new MsrEntry(0xc0000083, 0), // CSTAR
            new MsrEntry(0xc0000102, 0), // KERNEL_GS_BASE
            new MsrEntry(0xc0000084, 0), // SYSCALL_MASK
            new MsrEntry(0xc0000082, 0), // LSTAR
            new MsrEntry(0x10, 0), // IA32_TSC
            new MsrEntry(0x1a0, 1)); // IA32_MISC_ENABLE: fast strings

    private VcpuBootState() {}

    /**
     * Writes the GDT and page tables into {@code memory}; once per VM.
     *
     * @param memory the guest memory; the GDT at {@link X86Layout#GDT}, an empty IDT at {@link X86Layout#IDT} and
     *     the {@linkplain PageTables#writeIdentityMap page tables} are overwritten
     * @return the value for CR3, for {@link #configureBootVcpu}
     * @throws GuestMemoryException if guest memory does not hold those addresses
     */
    public static long writeTables(GuestMemory memory) throws GuestMemoryException {
        for (int i = 0; i < Gdt.ENTRIES.length; i++) {
            memory.putLong(X86Layout.GDT + 8L * i, Gdt.ENTRIES[i]);
        }
        memory.putLong(X86Layout.IDT, 0);
        return PageTables.writeIdentityMap(memory);
    }

    /**
     * Sets up the boot vCPU to enter the kernel at {@code entry} with the zero page at {@code zeroPage}.
     *
     * @param vcpu the vCPU that enters the kernel (vCPU 0), before it first runs; its general and FPU registers are
     *     replaced (zero but for what the boot protocol sets), and its segments, control registers and MSRs set
     * @param cr3 the page tables' root, as {@link #writeTables} returns it
     * @param entry guest-physical address of the kernel's 64-bit entry point, such as
     *     {@link dev.vmm4j.arch.x86_64.loader.LoadedKernel#entry()}
     * @param zeroPage guest-physical address of the zero page, put in {@code rsi}
     */
    public static void configureBootVcpu(Vcpu vcpu, long cr3, long entry, long zeroPage) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sregs = kvm_sregs.allocate(arena);
            vcpu.getSregs(sregs);
            Gdt.toSegment(Gdt.ENTRIES[1], Gdt.CODE_SELECTOR, kvm_sregs.cs(sregs));
            for (MemorySegment data : new MemorySegment[] {
                kvm_sregs.ds(sregs), kvm_sregs.es(sregs), kvm_sregs.fs(sregs), kvm_sregs.gs(sregs), kvm_sregs.ss(sregs)
            }) {
                Gdt.toSegment(Gdt.ENTRIES[2], Gdt.DATA_SELECTOR, data);
            }
            Gdt.toSegment(Gdt.ENTRIES[3], Gdt.TSS_SELECTOR, kvm_sregs.tr(sregs));
            kvm_dtable.base(kvm_sregs.gdt(sregs), X86Layout.GDT);
            kvm_dtable.limit(kvm_sregs.gdt(sregs), (short) (8 * Gdt.ENTRIES.length - 1));
            kvm_dtable.base(kvm_sregs.idt(sregs), X86Layout.IDT);
            kvm_dtable.limit(kvm_sregs.idt(sregs), (short) 7);
            kvm_sregs.cr3(sregs, cr3);
            kvm_sregs.cr4(sregs, kvm_sregs.cr4(sregs) | CR4_PAE);
            kvm_sregs.cr0(sregs, kvm_sregs.cr0(sregs) | CR0_PE | CR0_ET | CR0_PG);
            kvm_sregs.efer(sregs, kvm_sregs.efer(sregs) | EFER_LME | EFER_LMA);
            vcpu.setSregs(sregs);

            MemorySegment regs = kvm_regs.allocate(arena);
            kvm_regs.rflags(regs, 2);
            kvm_regs.rip(regs, entry);
            kvm_regs.rsp(regs, X86Layout.BOOT_STACK_TOP);
            kvm_regs.rbp(regs, X86Layout.BOOT_STACK_TOP);
            kvm_regs.rsi(regs, zeroPage);
            vcpu.setRegs(regs);

            MemorySegment fpu = kvm_fpu.allocate(arena);
            kvm_fpu.fcw(fpu, (short) 0x37f);
            kvm_fpu.mxcsr(fpu, 0x1f80);
            vcpu.setFpu(fpu);
        }
        vcpu.setMsrs(BOOT_MSRS);
    }

    /**
     * Wires local APIC LINT0 to ExtINT (the PIC) and LINT1 to NMI; needs an in-kernel irqchip.
     *
     * @param vcpu each of the VM's vCPUs, once the irqchip exists and before the vCPU first runs
     */
    public static void configureLapic(Vcpu vcpu) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment lapic = kvm_lapic_state.allocate(arena);
            vcpu.getLapic(lapic);
            setDeliveryMode(lapic, APIC_LVT0, APIC_MODE_EXTINT);
            setDeliveryMode(lapic, APIC_LVT1, APIC_MODE_NMI);
            vcpu.setLapic(lapic);
        }
    }

    private static void setDeliveryMode(MemorySegment lapic, int register, int mode) {
        int value = lapic.get(ValueLayout.JAVA_INT_UNALIGNED, register);
        lapic.set(ValueLayout.JAVA_INT_UNALIGNED, register, (value & ~0x700) | (mode << 8));
    }
}
