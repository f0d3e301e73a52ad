// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import static dev.vmm4j.vmm.kvm.LongModeGuestTest.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.kvm_fpu;
import dev.vmm4j.kvm.bindings.kvm_irqchip;
import dev.vmm4j.kvm.bindings.kvm_lapic_state;
import dev.vmm4j.kvm.bindings.kvm_pit_state2;
import dev.vmm4j.kvm.bindings.kvm_regs;
import dev.vmm4j.kvm.bindings.kvm_vcpu_events;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The VM and vCPU features beyond running code: slot kinds, interrupt plumbing, state round trips. */
@RequiresKvm
class VmFeaturesTest {
    /**
     * <pre>
     * 48 be 00 00 20 00 00 00 00 00   movabs rsi, 0x200000      ; read-only slot
     * 8a 06                           mov al, [rsi]             ; reads without an exit
     * e6 80                           out 0x80, al              ; reports what it read
     * c6 06 11                        mov byte [rsi], 0x11      ; write to read-only memory: MMIO exit
     * 48 bf 00 10 40 00 00 00 00 00   movabs rdi, 0x401000      ; page 1 of the dirty-logged slot
     * c7 07 01 00 00 00               mov dword [rdi], 1
     * c7 87 00 20 00 00 01 00 00 00   mov dword [rdi+0x2000], 1 ; page 3
     * f4                              hlt
     * </pre>
     */
    static final byte[] SLOTS = bytes(
            0x48, 0xbe, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8a, 0x06, 0xe6, 0x80, 0xc6, 0x06, 0x11, 0x48,
            0xbf, 0x00, 0x10, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc7, 0x07, 0x01, 0x00, 0x00, 0x00, 0xc7, 0x87, 0x00,
            0x20, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xf4);

    @Test
    void readOnlySlotExitsOnWritesAndDirtyLogRecordsWrittenPages() {
        try (TestGuest guest = TestGuest.create()) {
            MemorySegment rom = guest.arena.allocate(0x10000, 4096);
            rom.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x5a);
            guest.vm.setUserMemoryRegion(1, 0x200000, rom, EnumSet.of(MemorySlotFlag.READONLY));
            MemorySegment logged = guest.arena.allocate(0x10000, 4096);
            guest.vm.setUserMemoryRegion(2, 0x400000, logged, EnumSet.of(MemorySlotFlag.LOG_DIRTY_PAGES));
            assertArrayEquals(new long[] {0}, guest.vm.getDirtyLog(2), "nothing written yet");
            guest.startLongMode(SLOTS);

            VcpuExit.IoOut out = assertInstanceOf(VcpuExit.IoOut.class, guest.vcpu.run());
            assertEquals(0x5a, out.value(), "the guest reads read-only memory directly");
            VcpuExit.MmioWrite write = assertInstanceOf(VcpuExit.MmioWrite.class, guest.vcpu.run());
            assertEquals(0x200000, write.address());
            assertEquals(0x11, write.value());
            assertEquals(0x5a, rom.get(ValueLayout.JAVA_BYTE, 0), "read-only memory is unchanged");
            assertInstanceOf(VcpuExit.Hlt.class, guest.vcpu.run());

            assertArrayEquals(new long[] {0b1010}, guest.vm.getDirtyLog(2), "pages 1 and 3 were written");
            assertArrayEquals(new long[] {0}, guest.vm.getDirtyLog(2), "reading the log clears it");
            assertEquals(1, logged.get(ValueLayout.JAVA_INT, 0x1000));

            guest.vm.removeUserMemoryRegion(2);
            assertThrows(IllegalArgumentException.class, () -> guest.vm.getDirtyLog(2));
        }
    }

    @Test
    void irqchipPitRoutingAndLinesAreSetUp() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm();
                Arena arena = Arena.ofConfined()) {
            vm.setIdentityMapAddress(0xfffb_c000L);
            vm.setTssAddress(0xfffb_d000L);
            vm.createIrqchip();
            vm.createPit2(0);
            MemorySegment pit = arena.allocate(kvm_pit_state2.layout());
            vm.getPit2(pit);
            vm.setPit2(pit);

            MemorySegment ioapic = arena.allocate(kvm_irqchip.layout());
            vm.getIrqchip(2, ioapic);
            assertEquals(2, kvm_irqchip.chip_id(ioapic));
            vm.setIrqchip(ioapic);

            vm.setIrqLine(4, true);
            vm.setIrqLine(4, false);
            vm.setGsiRouting(List.of(
                    new IrqRoute.Irqchip(4, 0, 4),
                    new IrqRoute.Irqchip(4, 2, 4),
                    new IrqRoute.Msi(24, 0xfee0_0000L, 0x31)));
            vm.createVcpu(0);
            // The vCPU's local APIC is software-disabled after reset, so the message is not delivered (0), but
            // KVM accepted it.
            assertFalse(vm.signalMsi(0xfee0_0000L, 0x31));
            long clock = vm.getClock();
            vm.setClock(clock + 1_000_000);
            assertTrue(vm.getClock() >= clock + 1_000_000);
        }
    }

    @Test
    void vcpuStateRoundTrips() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm();
                Arena arena = Arena.ofConfined()) {
            vm.createIrqchip();
            Vcpu vcpu = vm.createVcpu(0);

            MemorySegment regs = kvm_regs.allocate(arena);
            vcpu.getRegs(regs);
            kvm_regs.rax(regs, 0x1234);
            kvm_regs.r15(regs, -1L);
            vcpu.setRegs(regs);
            MemorySegment again = kvm_regs.allocate(arena);
            vcpu.getRegs(again);
            assertEquals(0x1234, kvm_regs.rax(again));
            assertEquals(-1L, kvm_regs.r15(again));

            MemorySegment fpu = kvm_fpu.allocate(arena);
            vcpu.getFpu(fpu);
            kvm_fpu.fcw(fpu, (short) 0x37f);
            vcpu.setFpu(fpu);
            vcpu.getFpu(fpu);
            assertEquals(0x37f, kvm_fpu.fcw(fpu));

            MemorySegment lapic = kvm_lapic_state.allocate(arena);
            vcpu.getLapic(lapic);
            vcpu.setLapic(lapic);
            MemorySegment events = kvm_vcpu_events.allocate(arena);
            vcpu.getVcpuEvents(events);
            vcpu.setVcpuEvents(events);
            assertTrue(vcpu.translate(0x1000).isPresent(), "paging is off after reset: linear is physical");
            vcpu.nmi();
        }
    }

    @Test
    void inKernelDeviceTypesAreProbedWithoutCreatingThem() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm()) {
            boolean x86 = kvm.hasCapability(Capability.PIT2);
            assertEquals(
                    !x86,
                    vm.supportsDevice(LinuxHeaders.KVM_DEV_TYPE_ARM_VGIC_V2())
                            || vm.supportsDevice(LinuxHeaders.KVM_DEV_TYPE_ARM_VGIC_V3()));
            if (x86) {
                KvmException e = assertThrows(
                        KvmException.class, () -> vm.createDevice(LinuxHeaders.KVM_DEV_TYPE_ARM_VGIC_V3()));
                assertTrue(e.getMessage().startsWith("KVM_CREATE_DEVICE failed: ENODEV"), e.getMessage());
            }
        }
    }
}
