// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.sys.OwnedFd;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.lang.foreign.Arena;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

/** What a VM needs a capability for is refused up front, naming it, on a host that lacks it. */
@RequiresKvm
class VmCapabilityTest {
    /** {@return a real VM whose own capability checks hear that KVM lacks {@code absent}} */
    private static Vm vmLacking(Kvm kvm, Capability absent) {
        int vmFd = KvmIoctl.KVM_CREATE_VM.call(kvm.fd(), 0L);
        return new Vm(kvm, new OwnedFd(vmFd, "VM"), capability -> capability == absent ? 0 : 1);
    }

    @Test
    void anIoeventfdOfAnyLengthNamesTheCapabilityItNeeds() {
        try (Kvm kvm = Kvm.open();
                Vm vm = vmLacking(kvm, Capability.IOEVENTFD_ANY_LENGTH);
                EventFd event = EventFd.create()) {
            IoEventAddress address = new IoEventAddress.Mmio(0xd000_0000L);
            KvmException e =
                    assertThrows(KvmException.class, () -> vm.registerIoevent(event, address, Datamatch.any()));
            assertEquals(
                    "ioeventfds that match a write of any length (Datamatch.any()) need "
                            + "KVM_CAP_IOEVENTFD_ANY_LENGTH, which this host's KVM lacks",
                    e.getMessage());
            assertEquals(0, e.errno());
            vm.registerIoevent(event, address, Datamatch.of(4, 1)); // a match of one length needs no capability
            vm.unregisterIoevent(event, address, Datamatch.of(4, 1));
        }
    }

    @Test
    void aReadOnlySlotNamesTheCapabilityItNeeds() {
        try (Kvm kvm = Kvm.open();
                Vm vm = vmLacking(kvm, Capability.READONLY_MEM);
                Arena arena = Arena.ofConfined()) {
            KvmException e = assertThrows(
                    KvmException.class,
                    () -> vm.setUserMemoryRegion(
                            0, 0, arena.allocate(4096, 4096), EnumSet.of(MemorySlotFlag.READONLY)));
            assertEquals(
                    "read-only memory slots need KVM_CAP_READONLY_MEM, which this host's KVM lacks", e.getMessage());
        }
    }
}
