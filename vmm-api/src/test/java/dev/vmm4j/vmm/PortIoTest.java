// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.kvm_run;
import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.bus.BusDevice;
import dev.vmm4j.vmm.kvm.KvmException;
import dev.vmm4j.vmm.kvm.KvmRun;
import dev.vmm4j.vmm.kvm.VcpuExit;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Port I/O exits laid out by hand in a kvm_run, as KVM writes them, dispatched to a bus; needs no /dev/kvm. */
class PortIoTest {
    private static final int PIO_PAGE = 4096;
    private static final int PORT = 0x3f8;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment segment = arena.allocate(3 * 4096, 4096);
    private final KvmRun run = KvmRun.wrap(segment);
    private final Recorder device = new Recorder();
    private final PortIo portIo;

    PortIoTest() {
        Bus bus = new Bus("io");
        bus.insert(device, PORT, 8);
        portIo = new PortIo(bus);
    }

    @AfterEach
    void close() {
        arena.close();
    }

    /** Records each access as its direction and bytes; a read answers 0x11, 0x22, ... in every byte. */
    private static final class Recorder implements BusDevice {
        final List<String> accesses = new ArrayList<>();
        int reads;

        @Override
        public void read(long offset, MemorySegment data) {
            reads++;
            data.fill((byte) (0x11 * reads));
            accesses.add("read " + data.byteSize());
        }

        @Override
        public void write(long offset, MemorySegment data) {
            accesses.add("write " + HexFormat.of().formatHex(data.toArray(ValueLayout.JAVA_BYTE)));
        }
    }

    private VcpuExit io(int direction, int size, int port, int count, long dataOffset) {
        segment.set(ValueLayout.JAVA_INT, kvm_run.exit_reason$offset(), LinuxHeaders.KVM_EXIT_IO());
        long io = kvm_run.io$offset();
        segment.set(ValueLayout.JAVA_BYTE, io + kvm_run.io.direction$offset(), (byte) direction);
        segment.set(ValueLayout.JAVA_BYTE, io + kvm_run.io.size$offset(), (byte) size);
        segment.set(ValueLayout.JAVA_SHORT, io + kvm_run.io.port$offset(), (short) port);
        segment.set(ValueLayout.JAVA_INT, io + kvm_run.io.count$offset(), count);
        segment.set(ValueLayout.JAVA_LONG, io + kvm_run.io.data_offset$offset(), dataOffset);
        return run.exit();
    }

    @Test
    void repOutsbIsOneOneByteWritePerItemInOrder() {
        MemorySegment.copy("hello".getBytes(StandardCharsets.US_ASCII), 0, segment, ValueLayout.JAVA_BYTE, PIO_PAGE, 5);
        portIo.out((VcpuExit.IoOut) io(LinuxHeaders.KVM_EXIT_IO_OUT(), 1, PORT, 5, PIO_PAGE));
        assertEquals(List.of("write 68", "write 65", "write 6c", "write 6c", "write 6f"), device.accesses);
    }

    @Test
    void repOutswIsOneTwoByteWritePerItemInOrder() {
        segment.asSlice(PIO_PAGE, 6)
                .copyFrom(MemorySegment.ofArray(HexFormat.of().parseHex("010203040506")));
        portIo.out((VcpuExit.IoOut) io(LinuxHeaders.KVM_EXIT_IO_OUT(), 2, PORT, 3, PIO_PAGE));
        assertEquals(List.of("write 0102", "write 0304", "write 0506"), device.accesses);
    }

    @Test
    void repInswFillsEachItemFromItsOwnRead() {
        portIo.in((VcpuExit.IoIn) io(LinuxHeaders.KVM_EXIT_IO_IN(), 2, PORT, 3, PIO_PAGE));
        assertEquals(List.of("read 2", "read 2", "read 2"), device.accesses);
        assertEquals(
                "111122223333",
                HexFormat.of().formatHex(segment.asSlice(PIO_PAGE, 6).toArray(ValueLayout.JAVA_BYTE)));
    }

    @Test
    void aSingleAccessIsOneCall() {
        segment.set(ValueLayout.JAVA_INT, PIO_PAGE, 0x0403_0201);
        portIo.out((VcpuExit.IoOut) io(LinuxHeaders.KVM_EXIT_IO_OUT(), 4, PORT, 1, PIO_PAGE));
        portIo.in((VcpuExit.IoIn) io(LinuxHeaders.KVM_EXIT_IO_IN(), 4, PORT, 1, PIO_PAGE));
        assertEquals(List.of("write 01020304", "read 4"), device.accesses);
        assertEquals(0x1111_1111, segment.get(ValueLayout.JAVA_INT, PIO_PAGE));
    }

    @Test
    void aStringReadOfAPortNoDeviceHoldsReadsAllOnes() {
        portIo.in((VcpuExit.IoIn) io(LinuxHeaders.KVM_EXIT_IO_IN(), 1, 0x80, 4, PIO_PAGE));
        assertEquals(0xffff_ffff, segment.get(ValueLayout.JAVA_INT, PIO_PAGE));
    }

    @Test
    void itemsPastTheKvmRunMappingOrOfABadSizeAreAnErrorNotAnAccess() {
        // A hostile or broken count: 4096 items of 4 bytes do not fit in the two pages after kvm_run.
        KvmException e = assertThrows(
                KvmException.class,
                () -> portIo.out((VcpuExit.IoOut) io(LinuxHeaders.KVM_EXIT_IO_OUT(), 4, PORT, 4096, PIO_PAGE)));
        assertTrue(e.getMessage().contains("outside the 12288-byte kvm_run mapping"), e.getMessage());
        assertThrows(
                KvmException.class,
                () -> portIo.in((VcpuExit.IoIn) io(LinuxHeaders.KVM_EXIT_IO_IN(), 1, PORT, -1, PIO_PAGE)));
        assertThrows(
                KvmException.class,
                () -> portIo.in((VcpuExit.IoIn) io(LinuxHeaders.KVM_EXIT_IO_IN(), 0, PORT, 5, PIO_PAGE)));
        assertEquals(List.of(), device.accesses, "the device saw none of them");
    }
}
