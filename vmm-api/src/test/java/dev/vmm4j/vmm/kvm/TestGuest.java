// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import dev.vmm4j.kvm.bindings.kvm_regs;
import dev.vmm4j.kvm.bindings.kvm_segment;
import dev.vmm4j.kvm.bindings.kvm_sregs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;

/**
 * A one-vCPU VM with 2 MiB of RAM at guest-physical 0, set up to run a few hand-assembled instructions in real
 * mode or in 64-bit long mode (identity-mapped 4 GiB with 2 MiB pages, a flat GDT, an empty IDT).
 *
 * <pre>
 *  0x0500  GDT: null, code64 (0x08), data (0x10)
 *  0x1000  IDT: 256 gates of 16 bytes (real mode: code)
 *  0x4000  code (long mode)
 *  0x9000  PML4, 0xa000 PDPT, 0xb000-0xefff four page directories
 *  0x80000 stack top
 * </pre>
 */
final class TestGuest implements AutoCloseable {
    static final long MEMORY_SIZE = 2 << 20;
    static final long GDT = 0x500;
    static final long IDT = 0x1000;
    static final long REAL_MODE_CODE = 0x1000;
    static final long LONG_MODE_CODE = 0x4000;
    static final long PML4 = 0x9000;
    static final long STACK_TOP = 0x80000;
    static final int CODE_SELECTOR = 0x08;
    static final int DATA_SELECTOR = 0x10;

    final Kvm kvm;
    final Vm vm;
    final Arena arena = Arena.ofShared();
    final MemorySegment memory;
    final Vcpu vcpu;

    private TestGuest(boolean irqchip) {
        kvm = Kvm.open();
        vm = kvm.createVm();
        memory = arena.allocate(MEMORY_SIZE, 4096);
        vm.setUserMemoryRegion(0, 0, memory, EnumSet.noneOf(MemorySlotFlag.class));
        vm.setTssAddress(0xfffb_d000L);
        if (irqchip) {
            vm.createIrqchip();
        }
        vcpu = vm.createVcpu(0);
    }

    static TestGuest create() {
        return new TestGuest(false);
    }

    static TestGuest withIrqchip() {
        return new TestGuest(true);
    }

    /** Loads {@code code} at 0x1000 and starts the vCPU there in real mode with the given AX and BX. */
    void startRealMode(byte[] code, long rax, long rbx) {
        MemorySegment.copy(code, 0, memory, ValueLayout.JAVA_BYTE, REAL_MODE_CODE, code.length);
        try (Arena local = Arena.ofConfined()) {
            MemorySegment sregs = kvm_sregs.allocate(local);
            vcpu.getSregs(sregs);
            kvm_segment.base(kvm_sregs.cs(sregs), 0);
            kvm_segment.selector(kvm_sregs.cs(sregs), (short) 0);
            vcpu.setSregs(sregs);
            MemorySegment regs = kvm_regs.allocate(local);
            kvm_regs.rip(regs, REAL_MODE_CODE);
            kvm_regs.rax(regs, rax);
            kvm_regs.rbx(regs, rbx);
            kvm_regs.rflags(regs, 2);
            vcpu.setRegs(regs);
        }
    }

    /** Loads {@code code} at 0x4000 and starts the vCPU there in 64-bit mode. */
    void startLongMode(byte[] code) {
        MemorySegment.copy(code, 0, memory, ValueLayout.JAVA_BYTE, LONG_MODE_CODE, code.length);
        memory.set(ValueLayout.JAVA_LONG, GDT, 0);
        memory.set(ValueLayout.JAVA_LONG, GDT + CODE_SELECTOR, 0x00af_9b00_0000_ffffL);
        memory.set(ValueLayout.JAVA_LONG, GDT + DATA_SELECTOR, 0x00cf_9300_0000_ffffL);
        long pdpt = PML4 + 0x1000;
        memory.set(ValueLayout.JAVA_LONG, PML4, pdpt | 0x3);
        for (int gib = 0; gib < 4; gib++) {
            long pd = pdpt + 0x1000 * (gib + 1);
            memory.set(ValueLayout.JAVA_LONG, pdpt + 8L * gib, pd | 0x3);
            for (int i = 0; i < 512; i++) {
                long physical = ((long) gib << 30) | ((long) i << 21);
                memory.set(ValueLayout.JAVA_LONG, pd + 8L * i, physical | 0x83); // present, writable, 2 MiB page
            }
        }
        try (Arena local = Arena.ofConfined()) {
            MemorySegment sregs = kvm_sregs.allocate(local);
            vcpu.getSregs(sregs);
            flat(kvm_sregs.cs(sregs), CODE_SELECTOR, 11, true);
            for (MemorySegment data : new MemorySegment[] {
                kvm_sregs.ds(sregs), kvm_sregs.es(sregs), kvm_sregs.fs(sregs), kvm_sregs.gs(sregs), kvm_sregs.ss(sregs)
            }) {
                flat(data, DATA_SELECTOR, 3, false);
            }
            dev.vmm4j.kvm.bindings.kvm_dtable.base(kvm_sregs.gdt(sregs), GDT);
            dev.vmm4j.kvm.bindings.kvm_dtable.limit(kvm_sregs.gdt(sregs), (short) 23);
            dev.vmm4j.kvm.bindings.kvm_dtable.base(kvm_sregs.idt(sregs), IDT);
            dev.vmm4j.kvm.bindings.kvm_dtable.limit(kvm_sregs.idt(sregs), (short) (256 * 16 - 1));
            kvm_sregs.cr3(sregs, PML4);
            kvm_sregs.cr4(sregs, 0x20); // PAE
            kvm_sregs.cr0(sregs, 0x8000_0011L); // PG | ET | PE
            kvm_sregs.efer(sregs, 0x500); // LMA | LME
            vcpu.setSregs(sregs);
            MemorySegment regs = kvm_regs.allocate(local);
            kvm_regs.rip(regs, LONG_MODE_CODE);
            kvm_regs.rsp(regs, STACK_TOP);
            kvm_regs.rflags(regs, 2);
            vcpu.setRegs(regs);
        }
    }

    /** Points IDT gate {@code vector} at guest code offset {@code handlerOffset} from the long-mode code start. */
    void setInterruptGate(int vector, long handlerOffset) {
        long handler = LONG_MODE_CODE + handlerOffset;
        long gate = IDT + 16L * vector;
        memory.set(ValueLayout.JAVA_SHORT, gate, (short) handler);
        memory.set(ValueLayout.JAVA_SHORT, gate + 2, (short) CODE_SELECTOR);
        memory.set(ValueLayout.JAVA_BYTE, gate + 4, (byte) 0);
        memory.set(ValueLayout.JAVA_BYTE, gate + 5, (byte) 0x8e); // present, DPL 0, 64-bit interrupt gate
        memory.set(ValueLayout.JAVA_SHORT, gate + 6, (short) (handler >>> 16));
        memory.set(ValueLayout.JAVA_INT, gate + 8, (int) (handler >>> 32));
        memory.set(ValueLayout.JAVA_INT, gate + 12, 0);
    }

    private static void flat(MemorySegment segment, int selector, int type, boolean code) {
        kvm_segment.base(segment, 0);
        kvm_segment.limit(segment, 0xffff_ffff);
        kvm_segment.selector(segment, (short) selector);
        kvm_segment.type(segment, (byte) type);
        kvm_segment.present(segment, (byte) 1);
        kvm_segment.dpl(segment, (byte) 0);
        kvm_segment.db(segment, (byte) (code ? 0 : 1));
        kvm_segment.s(segment, (byte) 1);
        kvm_segment.l(segment, (byte) (code ? 1 : 0));
        kvm_segment.g(segment, (byte) 1);
    }

    @Override
    public void close() {
        vm.close();
        kvm.close();
        arena.close();
    }
}
