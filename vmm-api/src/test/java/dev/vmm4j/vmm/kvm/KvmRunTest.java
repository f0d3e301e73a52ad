// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.kvm_run;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Decoding exits from a kvm_run laid out by hand, as KVM would write it; needs no /dev/kvm. */
class KvmRunTest {
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment segment = arena.allocate(3 * 4096, 4096);
    private final KvmRun run = KvmRun.wrap(segment);

    @AfterEach
    void close() {
        arena.close();
    }

    private void exitReason(int reason) {
        segment.set(ValueLayout.JAVA_INT, kvm_run.exit_reason$offset(), reason);
    }

    private void io(int direction, int size, int port, int count, long dataOffset) {
        exitReason(LinuxHeaders.KVM_EXIT_IO());
        long io = kvm_run.io$offset();
        segment.set(ValueLayout.JAVA_BYTE, io + kvm_run.io.direction$offset(), (byte) direction);
        segment.set(ValueLayout.JAVA_BYTE, io + kvm_run.io.size$offset(), (byte) size);
        segment.set(ValueLayout.JAVA_SHORT, io + kvm_run.io.port$offset(), (short) port);
        segment.set(ValueLayout.JAVA_INT, io + kvm_run.io.count$offset(), count);
        segment.set(ValueLayout.JAVA_LONG, io + kvm_run.io.data_offset$offset(), dataOffset);
    }

    private void mmio(long address, int length, boolean write, long data) {
        exitReason(LinuxHeaders.KVM_EXIT_MMIO());
        long mmio = kvm_run.mmio$offset();
        segment.set(ValueLayout.JAVA_LONG, mmio + kvm_run.mmio.phys_addr$offset(), address);
        segment.set(ValueLayout.JAVA_LONG, mmio + kvm_run.mmio.data$offset(), data);
        segment.set(ValueLayout.JAVA_INT, mmio + kvm_run.mmio.len$offset(), length);
        segment.set(ValueLayout.JAVA_BYTE, mmio + kvm_run.mmio.is_write$offset(), (byte) (write ? 1 : 0));
    }

    @Test
    void portWriteDecodesPortSizeCountAndValue() {
        io(LinuxHeaders.KVM_EXIT_IO_OUT(), 2, 0xcf8, 1, 4096);
        segment.set(ValueLayout.JAVA_SHORT, 4096, (short) 0xbeef);
        VcpuExit.IoOut out = assertInstanceOf(VcpuExit.IoOut.class, run.exit());
        assertEquals(0xcf8, out.port());
        assertEquals(2, out.size());
        assertEquals(1, out.count());
        assertEquals(0xbeef, out.value());
        assertEquals(2, out.data().byteSize());
        assertEquals(LinuxHeaders.KVM_EXIT_IO(), out.reason());
    }

    @Test
    void portReadAnswerLandsInThePioPage() {
        io(LinuxHeaders.KVM_EXIT_IO_IN(), 4, 0x3fd, 1, 4096);
        VcpuExit.IoIn in = assertInstanceOf(VcpuExit.IoIn.class, run.exit());
        in.setValue(0x1234_5678L);
        assertEquals(0x1234_5678, segment.get(ValueLayout.JAVA_INT, 4096));
    }

    @Test
    void stringPortIoCoversSizeTimesCountBytes() {
        io(LinuxHeaders.KVM_EXIT_IO_OUT(), 1, 0x3f8, 5, 4096);
        MemorySegment.copy("hello".getBytes(), 0, segment, ValueLayout.JAVA_BYTE, 4096, 5);
        VcpuExit.IoOut out = assertInstanceOf(VcpuExit.IoOut.class, run.exit());
        assertArrayEquals("hello".getBytes(), out.data().toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void portIoDataOutsideTheMappingIsAnErrorNotAnOutOfBoundsAccess() {
        io(LinuxHeaders.KVM_EXIT_IO_OUT(), 4, 0x3f8, 1024, 3 * 4096 - 8);
        KvmException e = assertThrows(KvmException.class, () -> ((VcpuExit.IoOut) run.exit()).data());
        assertTrue(e.getMessage().contains("outside the 12288-byte kvm_run mapping"), e.getMessage());
        io(LinuxHeaders.KVM_EXIT_IO_OUT(), 4, 0x3f8, -1, 4096);
        assertThrows(KvmException.class, () -> ((VcpuExit.IoOut) run.exit()).data());
        io(LinuxHeaders.KVM_EXIT_IO_OUT(), 1, 0x3f8, 1, -4096);
        assertThrows(KvmException.class, () -> ((VcpuExit.IoOut) run.exit()).data());
    }

    @Test
    void portIoOfASizeKvmNeverReportsIsAnError() {
        for (int size : new int[] {0, 3, 8, 255}) {
            io(LinuxHeaders.KVM_EXIT_IO_IN(), size, 0x3f8, 2, 4096);
            KvmException e = assertThrows(KvmException.class, () -> ((VcpuExit.IoIn) run.exit()).data());
            assertTrue(e.getMessage().contains("port I/O access of " + size + " bytes"), e.getMessage());
        }
    }

    @Test
    void mmioWriteAndReadDecodeAddressLengthAndData() {
        mmio(0xd000_0010L, 8, true, 0x0102_0304_0506_0708L);
        VcpuExit.MmioWrite write = assertInstanceOf(VcpuExit.MmioWrite.class, run.exit());
        assertEquals(0xd000_0010L, write.address());
        assertEquals(8, write.length());
        assertEquals(0x0102_0304_0506_0708L, write.value());

        mmio(0xfee0_0030L, 2, true, 0xffff_ffff_ffff_abcdL);
        assertEquals(0xabcd, ((VcpuExit.MmioWrite) run.exit()).value(), "only the low len bytes count");

        mmio(0xd000_0000L, 4, false, 0);
        VcpuExit.MmioRead read = assertInstanceOf(VcpuExit.MmioRead.class, run.exit());
        read.setValue(0xfeed_beefL);
        assertEquals(
                0xfeed_beef, segment.get(ValueLayout.JAVA_INT, kvm_run.mmio$offset() + kvm_run.mmio.data$offset()));
    }

    @Test
    void mmioLengthAboveEightIsAnError() {
        mmio(0xd000_0000L, 9, true, 0);
        assertThrows(KvmException.class, () -> ((VcpuExit.MmioWrite) run.exit()).data());
        mmio(0xd000_0000L, 0, true, 0);
        assertThrows(KvmException.class, () -> ((VcpuExit.MmioWrite) run.exit()).value());
    }

    @Test
    void sameExitObjectsAreReusedForEveryExit() {
        mmio(0xd000_0000L, 4, true, 1);
        VcpuExit first = run.exit();
        mmio(0xd000_1000L, 4, true, 2);
        assertSame(first, run.exit());
    }

    @Test
    void simpleExitsDecodeToTheirVariants() {
        exitReason(LinuxHeaders.KVM_EXIT_HLT());
        assertInstanceOf(VcpuExit.Hlt.class, run.exit());
        exitReason(LinuxHeaders.KVM_EXIT_SHUTDOWN());
        assertInstanceOf(VcpuExit.Shutdown.class, run.exit());
        exitReason(LinuxHeaders.KVM_EXIT_INTR());
        assertInstanceOf(VcpuExit.Intr.class, run.exit());
        exitReason(LinuxHeaders.KVM_EXIT_IRQ_WINDOW_OPEN());
        assertInstanceOf(VcpuExit.IrqWindowOpen.class, run.exit());
        exitReason(LinuxHeaders.KVM_EXIT_NOTIFY());
        VcpuExit.Unknown unknown = assertInstanceOf(VcpuExit.Unknown.class, run.exit());
        assertEquals(LinuxHeaders.KVM_EXIT_NOTIFY(), unknown.reason());
    }

    @Test
    void failEntryCarriesTheHardwareReasonAndCpu() {
        exitReason(LinuxHeaders.KVM_EXIT_FAIL_ENTRY());
        long fail = kvm_run.fail_entry$offset();
        segment.set(
                ValueLayout.JAVA_LONG, fail + kvm_run.fail_entry.hardware_entry_failure_reason$offset(), 0x80000021L);
        segment.set(ValueLayout.JAVA_INT, fail + kvm_run.fail_entry.cpu$offset(), 3);
        VcpuExit.FailEntry entry = assertInstanceOf(VcpuExit.FailEntry.class, run.exit());
        assertEquals(0x80000021L, entry.hardwareEntryFailureReason());
        assertEquals(3, entry.cpu());
    }

    @Test
    void emulationFailureCarriesTheInstructionBytes() {
        exitReason(LinuxHeaders.KVM_EXIT_INTERNAL_ERROR());
        long ef = kvm_run.emulation_failure$offset();
        segment.set(
                ValueLayout.JAVA_INT,
                ef + kvm_run.emulation_failure.suberror$offset(),
                LinuxHeaders.KVM_INTERNAL_ERROR_EMULATION());
        segment.set(ValueLayout.JAVA_INT, ef + kvm_run.emulation_failure.ndata$offset(), 4);
        segment.set(
                ValueLayout.JAVA_LONG,
                ef + kvm_run.emulation_failure.flags$offset(),
                LinuxHeaders.KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES());
        segment.set(ValueLayout.JAVA_BYTE, ef + kvm_run.emulation_failure.insn_size$offset(), (byte) 3);
        MemorySegment.copy(
                new byte[] {0x0f, 0x01, (byte) 0xca},
                0,
                segment,
                ValueLayout.JAVA_BYTE,
                ef + kvm_run.emulation_failure.insn_bytes$offset(),
                3);
        VcpuExit.InternalError error = assertInstanceOf(VcpuExit.InternalError.class, run.exit());
        assertEquals(LinuxHeaders.KVM_INTERNAL_ERROR_EMULATION(), error.suberror());
        assertTrue(error.hasInstructionBytes());
        assertArrayEquals(new byte[] {0x0f, 0x01, (byte) 0xca}, error.instructionBytes());
        assertEquals("InternalError[suberror 1, instruction 0f 01 ca]", error.toString());
    }

    @Test
    void internalErrorBoundsWhatKvmClaimsToHaveWritten() {
        exitReason(LinuxHeaders.KVM_EXIT_INTERNAL_ERROR());
        long internal = kvm_run.internal$offset();
        segment.set(ValueLayout.JAVA_INT, internal + kvm_run.internal.suberror$offset(), 3);
        segment.set(ValueLayout.JAVA_INT, internal + kvm_run.internal.ndata$offset(), 1000);
        VcpuExit.InternalError error = assertInstanceOf(VcpuExit.InternalError.class, run.exit());
        assertEquals(16, error.ndata(), "ndata is capped at the size of the data array");
        assertFalse(error.hasInstructionBytes());
        assertThrows(IndexOutOfBoundsException.class, () -> error.data(16));
    }

    @Test
    void systemEventCarriesTypeAndData() {
        exitReason(LinuxHeaders.KVM_EXIT_SYSTEM_EVENT());
        long event = kvm_run.system_event$offset();
        segment.set(
                ValueLayout.JAVA_INT,
                event + kvm_run.system_event.type$offset(),
                LinuxHeaders.KVM_SYSTEM_EVENT_RESET());
        segment.set(ValueLayout.JAVA_INT, event + kvm_run.system_event.ndata$offset(), 1);
        segment.set(ValueLayout.JAVA_LONG, event + kvm_run.system_event.data$offset(), 0x55L);
        VcpuExit.SystemEvent systemEvent = assertInstanceOf(VcpuExit.SystemEvent.class, run.exit());
        assertEquals(LinuxHeaders.KVM_SYSTEM_EVENT_RESET(), systemEvent.type());
        assertEquals(1, systemEvent.ndata());
        assertEquals(0x55L, systemEvent.data(0));
    }

    @Test
    void immediateExitIsSetAndCleared() {
        assertFalse(run.immediateExitRequested());
        run.requestImmediateExit();
        assertTrue(run.immediateExitRequested());
        assertEquals(1, segment.get(ValueLayout.JAVA_BYTE, kvm_run.immediate_exit$offset()));
        run.clearImmediateExit();
        assertFalse(run.immediateExitRequested());
    }

    @Test
    void wrapRejectsASegmentSmallerThanKvmRun() {
        assertThrows(IllegalArgumentException.class, () -> KvmRun.wrap(arena.allocate(64)));
    }
}
