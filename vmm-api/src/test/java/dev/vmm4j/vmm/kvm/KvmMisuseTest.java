// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Bad use of KVM gets errors that name the ioctl, the errno and what to do. */
@RequiresKvm
class KvmMisuseTest {
    private static final Set<MemorySlotFlag> NO_FLAGS = EnumSet.noneOf(MemorySlotFlag.class);

    @Test
    void secondVcpuWithTheSameIdIsRefused() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm()) {
            vm.createVcpu(0);
            KvmException e = assertThrows(KvmException.class, () -> vm.createVcpu(0));
            assertEquals(LinuxHeaders.EEXIST(), e.errno());
            assertTrue(
                    e.getMessage().startsWith("KVM_CREATE_VCPU failed: EEXIST (File exists): vcpu 0 already exists"),
                    e.getMessage());
        }
    }

    /** The kick blocks and sends its signal per kernel thread, which a virtual thread does not own. */
    @Test
    void aVirtualThreadCannotBindAVcpu() throws Exception {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm()) {
            Vcpu vcpu = vm.createVcpu(0);
            Throwable[] thrown = new Throwable[1];
            Thread.ofVirtual()
                    .start(() -> {
                        try (Vcpu.ThreadBinding binding = vcpu.bindToCurrentThread()) {
                            thrown[0] = null;
                        } catch (Throwable t) {
                            thrown[0] = t;
                        }
                    })
                    .join();
            assertTrue(
                    thrown[0] instanceof IllegalStateException e
                            && e.getMessage().contains("platform thread"),
                    String.valueOf(thrown[0]));
            try (Vcpu.ThreadBinding binding = vcpu.bindToCurrentThread()) {
                vcpu.kick(); // a platform thread binds, and the kick reaches it (taken when the binding closes)
            }
        }
    }

    @Test
    void overlappingMemorySlotIsRefused() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm();
                Arena arena = Arena.ofConfined()) {
            vm.setUserMemoryRegion(0, 0, arena.allocate(0x10000, 4096), NO_FLAGS);
            MemorySegment other = arena.allocate(0x10000, 4096);
            KvmException e = assertThrows(KvmException.class, () -> vm.setUserMemoryRegion(1, 0x8000, other, NO_FLAGS));
            assertEquals(
                    "KVM_SET_USER_MEMORY_REGION failed: EEXIST (File exists): slot 1 [0x8000, 0x18000) overlaps "
                            + "a memory slot already registered, or the host range is not mapped",
                    e.getMessage());
        }
    }

    @Test
    void misalignedOrHeapMemoryIsRefusedBeforeKvmSeesIt() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm();
                Arena arena = Arena.ofConfined()) {
            MemorySegment page = arena.allocate(0x2000, 4096);
            assertThrows(IllegalArgumentException.class, () -> vm.setUserMemoryRegion(0, 0x800, page, NO_FLAGS));
            assertThrows(
                    IllegalArgumentException.class, () -> vm.setUserMemoryRegion(0, 0, page.asSlice(0, 100), NO_FLAGS));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> vm.setUserMemoryRegion(0, 0, MemorySegment.ofArray(new byte[4096]), NO_FLAGS));
            assertThrows(IllegalArgumentException.class, () -> vm.setUserMemoryRegion(0, -4096, page, NO_FLAGS));
        }
    }

    @Test
    void capabilityTheHostLacksIsNamed() {
        try (Kvm kvm = Kvm.open()) {
            // An x86 host has no PSCI; an aarch64 host has no x86 PIT.
            Capability absent = kvm.hasCapability(Capability.ARM_PSCI_0_2) ? Capability.PIT2 : Capability.ARM_PSCI_0_2;
            KvmException e = assertThrows(KvmException.class, () -> kvm.requireCapability(absent, "booting"));
            assertEquals(
                    "KVM on this host lacks " + absent.kernelName() + ", which vmm4j needs for booting",
                    e.getMessage());
            assertEquals(0, e.errno());
        }
    }

    @Test
    void enablingAnUnsupportedCapabilityNamesIt() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm()) {
            KvmException e = assertThrows(KvmException.class, () -> vm.enableCap(Capability.ARM_VM_IPA_SIZE, 40));
            assertEquals(LinuxHeaders.EINVAL(), e.errno());
            assertEquals(
                    "KVM_ENABLE_CAP failed: EINVAL (Invalid argument): KVM_CAP_ARM_VM_IPA_SIZE cannot be enabled on this VM",
                    e.getMessage());
        }
    }

    @Test
    void registersNeedASegmentOfTheirStructsSize() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm();
                Arena arena = Arena.ofConfined()) {
            Vcpu vcpu = vm.createVcpu(0);
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> vcpu.getRegs(arena.allocate(16)));
            assertEquals("struct kvm_regs needs 144 bytes, the segment has 16", e.getMessage());
        }
    }

    @Test
    void vcpuBindsToOneThreadAtATime() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm()) {
            Vcpu vcpu = vm.createVcpu(0);
            try (Vcpu.ThreadBinding binding = vcpu.bindToCurrentThread()) {
                IllegalStateException e = assertThrows(IllegalStateException.class, vcpu::bindToCurrentThread);
                assertTrue(e.getMessage().startsWith("vcpu 0 is already bound to thread "), e.getMessage());
            }
            vcpu.bindToCurrentThread().close(); // free again once unbound
        }
    }

    @Test
    void vmsVcpusAndMappingsCloseWithoutLeakingDescriptors() throws IOException {
        long before = openDescriptors();
        for (int i = 0; i < 20; i++) {
            try (Kvm kvm = Kvm.open();
                    Vm vm = kvm.createVm();
                    Arena arena = Arena.ofConfined()) {
                vm.setUserMemoryRegion(0, 0, arena.allocate(0x10000, 4096), NO_FLAGS);
                vm.createIrqchip();
                for (int id = 0; id < 2; id++) {
                    vm.createVcpu(id).kick();
                }
            }
        }
        assertEquals(before, openDescriptors());
    }

    @Test
    void kickAfterCloseDoesNothing() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm()) {
            Vcpu vcpu = vm.createVcpu(0);
            vcpu.close();
            vcpu.kick();
            vcpu.close();
            assertThrows(IllegalStateException.class, vcpu::fd);
        }
    }

    private static long openDescriptors() throws IOException {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}
