// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The Fixed ACPI Description Table (ACPI 6.5, 5.2.9) of a hardware-reduced machine: no PM1 or GPE blocks, no SCI, the
 * DSDT's address, and the sleep control and status registers through which a guest powers off (the
 * {@link SleepControl} device serves them).
 *
 * <pre>
 *   offset  field (the rest is zero: no FACS, no PM1/PM2/PM timer/GPE blocks, no SCI, no reset register)
 *      0    header ("FACP", revision 6)
 *     40    DSDT (32-bit address)
 *    109    IAPC_BOOT_ARCH: an 8042, no VGA
 *    112    Flags: PWR_BUTTON, SLP_BUTTON (neither exists), HW_REDUCED_ACPI
 *    131    FADT minor version 5
 *    140    X_DSDT (64-bit address)
 *    244    SLEEP_CONTROL_REG (generic address: I/O port 0x600, 8 bits)
 *    256    SLEEP_STATUS_REG (I/O port 0x601)
 *    268    hypervisor vendor identity ("VMM4J")
 * </pre>
 */
final class Fadt {
    /** The table's size: revision 6. */
    static final int BYTES = 276;

    private static final int PWR_BUTTON = 1 << 4; // no fixed power button
    private static final int SLP_BUTTON = 1 << 5; // no fixed sleep button
    private static final int HW_REDUCED_ACPI = 1 << 20;
    private static final int IAPC_8042_PRESENT = 1 << 1;
    private static final int IAPC_VGA_NOT_PRESENT = 1 << 2;

    private Fadt() {}

    /** {@return the FADT pointing at the DSDT at {@code dsdt}} */
    static byte[] of(long dsdt) {
        ByteBuffer body =
                ByteBuffer.allocate(BYTES - SystemDescriptionTable.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        body.putInt(40 - 36, (int) dsdt); // DSDT (32-bit)
        body.putShort(109 - 36, (short) (IAPC_8042_PRESENT | IAPC_VGA_NOT_PRESENT)); // IAPC_BOOT_ARCH
        body.putInt(112 - 36, PWR_BUTTON | SLP_BUTTON | HW_REDUCED_ACPI); // Flags
        body.put(131 - 36, (byte) 5); // FADT minor version: ACPI 6.5
        body.putLong(140 - 36, dsdt); // X_DSDT
        body.position(244 - 36);
        new GenericAddress(SleepControl.CONTROL_PORT).writeTo(body); // SLEEP_CONTROL_REG
        new GenericAddress(SleepControl.STATUS_PORT).writeTo(body); // SLEEP_STATUS_REG
        body.put(SystemDescriptionTable.ascii("VMM4J", 8)); // hypervisor vendor identity
        return SystemDescriptionTable.of("FACP", 6, body.array());
    }
}
