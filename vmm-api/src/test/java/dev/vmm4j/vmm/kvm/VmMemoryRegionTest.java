// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Memory slots: the ranges {@link Vm#setUserMemoryRegion} takes, and what it keeps while KVM maps them. */
@RequiresKvm
class VmMemoryRegionTest {
    private static final Set<MemorySlotFlag> NO_FLAGS = EnumSet.noneOf(MemorySlotFlag.class);
    /** {@code dup2(old, new)}: puts another file behind a VM's fd number for a moment. */
    @SuppressWarnings("restricted")
    private static final MethodHandle DUP2 = Linker.nativeLinker()
            .downcallHandle(
                    Linker.nativeLinker().defaultLookup().find("dup2").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

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

    @Test
    void aSlotKvmFailsToRemoveStaysRegistered() throws Throwable {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm();
                Arena arena = Arena.ofConfined();
                EventFd notKvm = EventFd.create()) {
            vm.setUserMemoryRegion(0, 0, arena.allocate(0x10000, 4096), NO_FLAGS);
            int saved = Libc.fcntl(vm.fd(), LinuxHeaders.F_DUPFD_CLOEXEC(), 0);
            assertTrue(saved >= 0, "dup failed: " + saved);
            try {
                // For a moment the VM's fd number is an eventfd, so that KVM_SET_USER_MEMORY_REGION fails (ENOTTY).
                assertEquals(vm.fd(), (int) DUP2.invokeExact(notKvm.fd(), vm.fd()));
                assertThrows(KvmException.class, () -> vm.removeUserMemoryRegion(0));
            } finally {
                assertEquals(vm.fd(), (int) DUP2.invokeExact(saved, vm.fd()));
                Libc.close(saved);
            }
            vm.removeUserMemoryRegion(0); // still registered, so KVM removes it now
            assertThrows(IllegalArgumentException.class, () -> vm.removeUserMemoryRegion(0));
        }
    }

    @Test
    void aReadOnlySlotNeedsNoOpenKvm() {
        Vm vm;
        try (Kvm kvm = Kvm.open()) {
            vm = kvm.createVm();
        }
        try (vm;
                Arena arena = Arena.ofConfined()) {
            assumeTrue(vm.checkExtension(Capability.READONLY_MEM) > 0, "this host's KVM has no read-only slots");
            MemorySegment rom = arena.allocate(4096, 4096);
            vm.setUserMemoryRegion(0, 0x10000, rom, EnumSet.of(MemorySlotFlag.READONLY));
            vm.removeUserMemoryRegion(0);
        }
    }
}
