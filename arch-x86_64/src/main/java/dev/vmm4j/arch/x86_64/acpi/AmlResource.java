// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A resource descriptor in a {@code ResourceTemplate} (ACPI 6.5, section 6.4): I/O ports, a fixed memory range, a
 * legacy IRQ or an extended interrupt, as a device's {@code _CRS} lists them.
 *
 * @param bytes the descriptor's encoding
 */
public record AmlResource(byte[] bytes) {
    /** Copies the bytes. */
    public AmlResource {
        bytes = bytes.clone();
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** {@code IO(Decode16, base, base, 1, length)}: {@code length} ports at a fixed 16-bit {@code base}. */
    public static AmlResource io(int base, int length) {
        check(base, 0, 0xffff, "an I/O base");
        check(length, 1, 0xff, "an I/O length");
        return new AmlResource(le(8).put((byte) 0x47) // small item 0x08, 7 bytes
                .put((byte) 1) // decodes 16 bits
                .putShort((short) base)
                .putShort((short) base)
                .put((byte) 1)
                .put((byte) length)
                .array());
    }

    /** {@code IRQNoFlags() {irq}}: a legacy ISA interrupt (edge, active high). */
    public static AmlResource irq(int irq) {
        check(irq, 0, 15, "a legacy IRQ");
        return new AmlResource(
                le(3).put((byte) 0x22).putShort((short) (1 << irq)).array()); // small item 0x04, 2 bytes
    }

    /** {@code IRQ(Edge, ActiveHigh, Shared) {irq}}: a legacy ISA interrupt another device may share (COM1 and COM3). */
    public static AmlResource sharedIrq(int irq) {
        check(irq, 0, 15, "a legacy IRQ");
        return new AmlResource(le(4).put((byte) 0x23) // small item 0x04, 3 bytes
                .putShort((short) (1 << irq))
                .put((byte) 0x11) // edge-triggered, active high, shared
                .array());
    }

    /** {@code Memory32Fixed(ReadWrite, base, length)}. */
    public static AmlResource memory32Fixed(long base, long length) {
        check(base, 0, 0xffff_ffffL, "a 32-bit memory base");
        check(length, 1, 0xffff_ffffL - base + 1, "a 32-bit memory length");
        return new AmlResource(le(12).put((byte) 0x86) // large item 0x06
                .putShort((short) 9)
                .put((byte) 1) // read-write
                .putInt((int) base)
                .putInt((int) length)
                .array());
    }

    /**
     * {@code Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) {gsi}}: one global system interrupt, as an
     * irqfd raises it (a pulse).
     */
    public static AmlResource edgeInterrupt(long gsi) {
        check(gsi, 0, 0xffff_ffffL, "a global system interrupt");
        return new AmlResource(le(9).put((byte) 0x89) // large item 0x09
                .putShort((short) 6)
                .put((byte) 0b0011) // consumer, edge-triggered, active high, exclusive
                .put((byte) 1) // one interrupt
                .putInt((int) gsi)
                .array());
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void check(long value, long min, long max, String what) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(what + " is " + min + " to " + max + ", not " + value);
        }
    }
}
