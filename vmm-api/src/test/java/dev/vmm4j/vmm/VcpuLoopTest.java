// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.vmm4j.kvm.bindings.kvm_regs;
import dev.vmm4j.kvm.bindings.kvm_segment;
import dev.vmm4j.kvm.bindings.kvm_sregs;
import dev.vmm4j.vmm.arch.ArchMachine;
import dev.vmm4j.vmm.arch.Boot;
import dev.vmm4j.vmm.arch.BootSpec;
import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.bus.BusDevice;
import dev.vmm4j.vmm.devices.DeviceNode;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.MemorySlotFlag;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The vCPU loop against a real guest: what a bus device sees of the guest's port I/O. */
@RequiresKvm
class VcpuLoopTest {
    private static final long CODE = 0x1000;
    private static final long OUT_DATA = 0x1100;
    private static final long IN_DATA = 0x1200;
    private static final int PORT = 0x10;

    /**
     * Real mode, CS = DS = ES = 0:
     *
     * <pre>
     * ba 10 00   mov dx, 0x10
     * be 00 11   mov si, 0x1100
     * b9 05 00   mov cx, 5
     * fc         cld
     * f3 6e      rep outsb        ; five 1-byte writes of "hello"
     * bf 00 12   mov di, 0x1200
     * b9 03 00   mov cx, 3
     * f3 6d      rep insw         ; three 2-byte reads into 0x1200
     * f4         hlt
     * </pre>
     */
    private static final byte[] STRING_IO = HexFormat.of()
            .parseHex("ba1000" + "be0011" + "b90500" + "fc" + "f36e" + "bf0012" + "b90300" + "f36d" + "f4");

    /** Records each access; a read answers 0x0101, 0x0202, ... (its number in both bytes). */
    private static final class RecordingPort implements BusDevice {
        final List<String> accesses = new ArrayList<>();
        int reads;

        @Override
        public void read(long offset, MemorySegment data) {
            accesses.add("read " + data.byteSize());
            reads++;
            data.fill((byte) reads);
        }

        @Override
        public void write(long offset, MemorySegment data) {
            accesses.add("write " + new String(data.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII));
        }
    }

    @Test
    void aStringInstructionReachesTheDeviceAsOneAccessPerItemInOrder() {
        RecordingPort port = new RecordingPort();
        Bus io = new Bus("io");
        io.insert(port, PORT, 1);
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm();
                Arena arena = Arena.ofShared()) {
            MemorySegment memory = arena.allocate(2 << 20, 4096);
            vm.setUserMemoryRegion(0, 0, memory, EnumSet.noneOf(MemorySlotFlag.class));
            MemorySegment.copy(STRING_IO, 0, memory, ValueLayout.JAVA_BYTE, CODE, STRING_IO.length);
            MemorySegment.copy(
                    "hello".getBytes(StandardCharsets.US_ASCII), 0, memory, ValueLayout.JAVA_BYTE, OUT_DATA, 5);
            Vcpu vcpu = vm.createVcpu(0);
            startRealMode(vcpu, arena);

            AtomicReference<ExitStatus> status = new AtomicReference<>();
            new VcpuLoop(
                            vcpu,
                            io,
                            new Bus("mmio"),
                            status::set,
                            () -> status.get() != null,
                            new NoMachine(),
                            new VcpuExitCounts("vcpu-loop-test", 0),
                            null)
                    .run();

            assertInstanceOf(ExitStatus.GuestPowerOff.class, status.get(), "the guest halts: " + status.get());
            assertEquals(
                    List.of("write h", "write e", "write l", "write l", "write o", "read 2", "read 2", "read 2"),
                    port.accesses);
            assertEquals(
                    "010102020303",
                    HexFormat.of().formatHex(memory.asSlice(IN_DATA, 6).toArray(ValueLayout.JAVA_BYTE)),
                    "each read fills its own item");
        }
    }

    private static void startRealMode(Vcpu vcpu, Arena arena) {
        MemorySegment sregs = kvm_sregs.allocate(arena);
        vcpu.getSregs(sregs);
        kvm_segment.base(kvm_sregs.cs(sregs), 0);
        kvm_segment.selector(kvm_sregs.cs(sregs), (short) 0);
        vcpu.setSregs(sregs);
        MemorySegment regs = kvm_regs.allocate(arena);
        kvm_regs.rip(regs, CODE);
        kvm_regs.rflags(regs, 2);
        vcpu.setRegs(regs);
    }

    /** An architecture with nothing to boot and nothing to assist. */
    private static final class NoMachine implements ArchMachine {
        @Override
        public Boot boot(BootSpec spec, List<DeviceNode> devices) {
            throw new UnsupportedOperationException("the test sets its vCPU up itself; the loop never boots");
        }

        @Override
        public long programCounter(int vcpu) {
            return -1;
        }
    }
}
