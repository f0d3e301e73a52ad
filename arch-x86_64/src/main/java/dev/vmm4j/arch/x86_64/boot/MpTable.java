// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.boot;

import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The Intel MultiProcessor Specification 1.4 table that tells a kernel without ACPI how many CPUs there are and how
 * the ISA interrupts reach the IOAPIC, as crosvm writes it: a floating pointer at the start of the EBDA
 * ({@link X86Layout#EBDA_START}, where Linux scans) followed by the configuration table.
 *
 * <pre>
 *  floating pointer (16 bytes)  "_MP_", address of the table, length 1, revision 4, checksum
 *  configuration table          "PCMP" header (44 bytes), then:
 *    one processor entry per vCPU (APIC id = vCPU id; vCPU 0 is the bootstrap processor)
 *    bus 0: ISA
 *    the IOAPIC (id = vCPU count) at 0xfec00000
 *    IRQs 0-23 to IOAPIC pins 0-23 (edge, active high, on the ISA bus, as Firecracker does: the pins above 15
 *    carry the virtio-mmio devices, and Linux routes only the IRQs the table names)
 *    LINT0 as ExtINT, LINT1 as NMI, on every local APIC
 * </pre>
 */
public final class MpTable {
    /** The most vCPUs the table describes: APIC ids 0..253, and the IOAPIC takes the next id. */
    public static final int MAX_CPUS = 254;

    static final long IOAPIC_ADDRESS = 0xfec0_0000L;
    static final long LAPIC_ADDRESS = 0xfee0_0000L;
    static final int IOAPIC_PINS = 24;
    private static final int HEADER_SIZE = 44;
    private static final int PROCESSOR_SIZE = 20;
    private static final int SMALL_ENTRY_SIZE = 8;

    private MpTable() {}

    /**
     * {@return the number of bytes the table takes for {@code cpus} vCPUs}
     *
     * @param cpus 1 to {@link #MAX_CPUS}; not checked here
     */
    public static int size(int cpus) {
        return 16 + HEADER_SIZE + cpus * PROCESSOR_SIZE + (1 + 1 + IOAPIC_PINS + 2) * SMALL_ENTRY_SIZE;
    }

    /**
     * Writes the table for {@code cpus} vCPUs at {@link X86Layout#EBDA_START}.
     *
     * @param memory the guest memory; {@link #size(int)} bytes from the EBDA's start are overwritten
     * @param cpus the VM's vCPUs, 1 to {@link #MAX_CPUS}
     * @throws IllegalArgumentException if {@code cpus} is out of range
     * @throws GuestMemoryException if those bytes are not all in guest memory
     */
    public static void write(GuestMemory memory, int cpus) throws GuestMemoryException {
        Objects.requireNonNull(memory, "memory");
        if (cpus < 1 || cpus > MAX_CPUS) {
            throw new IllegalArgumentException("an MP table describes 1 to " + MAX_CPUS + " vCPUs, not " + cpus);
        }
        long base = X86Layout.EBDA_START;
        ByteBuffer table = ByteBuffer.allocate(size(cpus)).order(ByteOrder.LITTLE_ENDIAN);
        // Floating pointer.
        table.put("_MP_".getBytes(StandardCharsets.US_ASCII))
                .putInt((int) (base + 16))
                .put((byte) 1)
                .put((byte) 4);
        table.put((byte) 0).put(new byte[5]); // checksum (below), feature bytes: a configuration table is present
        // Configuration table header.
        int header = table.position();
        int entries = cpus + 1 + 1 + IOAPIC_PINS + 2;
        table.put("PCMP".getBytes(StandardCharsets.US_ASCII))
                .putShort((short) (size(cpus) - 16))
                .put((byte) 4)
                .put((byte) 0);
        table.put("VMM4J   ".getBytes(StandardCharsets.US_ASCII))
                .put("000000000000".getBytes(StandardCharsets.US_ASCII));
        table.putInt(0).putShort((short) 0).putShort((short) entries).putInt((int) LAPIC_ADDRESS);
        table.putShort((short) 0).put((byte) 0).put((byte) 0);
        for (int cpu = 0; cpu < cpus; cpu++) {
            table.put((byte) 0).put((byte) cpu).put((byte) 0x14); // processor, APIC id, APIC version
            table.put((byte) (cpu == 0 ? 0x3 : 0x1)); // enabled, bootstrap processor
            table.putInt(0x600).putInt(0x201).put(new byte[8]); // family 6 signature; FPU and APIC
        }
        table.put((byte) 1).put((byte) 0).put("ISA   ".getBytes(StandardCharsets.US_ASCII));
        int ioapicId = cpus;
        table.put((byte) 2).put((byte) ioapicId).put((byte) 0x11).put((byte) 1).putInt((int) IOAPIC_ADDRESS);
        for (int irq = 0; irq < IOAPIC_PINS; irq++) {
            table.put((byte) 3).put((byte) 0).putShort((short) 0); // I/O interrupt: INT, conforming
            table.put((byte) 0).put((byte) irq).put((byte) ioapicId).put((byte) irq);
        }
        table.put((byte) 4)
                .put((byte) 3)
                .putShort((short) 0)
                .put((byte) 0)
                .put((byte) 0)
                .put((byte) 0xff)
                .put((byte) 0); // LINT0 ExtINT
        table.put((byte) 4)
                .put((byte) 1)
                .putShort((short) 0)
                .put((byte) 0)
                .put((byte) 0)
                .put((byte) 0xff)
                .put((byte) 1); // LINT1 NMI
        byte[] bytes = table.array();
        bytes[header + 7] = checksum(bytes, header, bytes.length);
        bytes[10] = checksum(bytes, 0, 16);
        memory.writeFully(base, bytes);
    }

    /** {@return the byte that makes the bytes of {@code [from, to)} sum to 0 mod 256} */
    static byte checksum(byte[] bytes, int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) {
            sum += bytes[i];
        }
        return (byte) -sum;
    }
}
