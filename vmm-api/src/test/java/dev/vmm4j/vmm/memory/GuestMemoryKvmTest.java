// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.vmm4j.kvm.bindings.kvm_regs;
import dev.vmm4j.kvm.bindings.kvm_segment;
import dev.vmm4j.kvm.bindings.kvm_sregs;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.VcpuExit;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

@RequiresKvm
class GuestMemoryKvmTest {
    /** {@code c6 06 00 20 5a: mov byte [0x2000], 0x5a; f4: hlt}, in real mode. */
    private static final byte[] STORE_AND_HALT = {(byte) 0xc6, 0x06, 0x00, 0x20, 0x5a, (byte) 0xf4};

    @Test
    void guestWritesLandInGuestMemoryAndAreSeenThroughIt() throws GuestMemoryException {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm();
                GuestMemoryMmap memory = GuestMemoryMmap.builder()
                        .anonymous(0, 0x10000)
                        .memfd(0x10000, 0x10000, "ram")
                        .build();
                Arena arena = Arena.ofConfined()) {
            assertEquals(2, memory.registerWith(vm));
            memory.writeFully(0x1000, STORE_AND_HALT);
            Vcpu vcpu = vm.createVcpu(0);
            MemorySegment sregs = kvm_sregs.allocate(arena);
            vcpu.getSregs(sregs);
            kvm_segment.base(kvm_sregs.cs(sregs), 0);
            kvm_segment.selector(kvm_sregs.cs(sregs), (short) 0);
            vcpu.setSregs(sregs);
            MemorySegment regs = kvm_regs.allocate(arena);
            kvm_regs.rip(regs, 0x1000);
            kvm_regs.rflags(regs, 2);
            vcpu.setRegs(regs);

            assertInstanceOf(VcpuExit.Hlt.class, vcpu.run());
            assertEquals(0x5a, memory.getByte(0x2000));
        }
    }
}
