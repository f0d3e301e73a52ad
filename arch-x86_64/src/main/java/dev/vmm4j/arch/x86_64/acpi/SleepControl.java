// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.acpi;

import dev.vmm4j.vmm.bus.BusDevice;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * The sleep control and status registers of a hardware-reduced ACPI machine (ACPI 6.5, 4.8.3.7), which the FADT names:
 * a guest powers off by writing SLP_TYP (the {@code \_S5} value the DSDT gives, {@value #S5_SLEEP_TYPE}) with SLP_EN
 * to the control register, as Linux's {@code acpi_power_off} does. Other sleep states are not offered (the DSDT has no
 * {@code \_S1} to {@code \_S4}), so a write of another type is ignored, as is a write without SLP_EN.
 *
 * <p>Register it on the port-I/O bus at {@link #CONTROL_PORT} with length 2 (the status register follows it).
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class SleepControl implements BusDevice {
    /** The control register's I/O port; the status register is the next one. */
    public static final int CONTROL_PORT = 0x600;
    /** The status register's I/O port. */
    public static final int STATUS_PORT = CONTROL_PORT + 1;
    /** The sleep type the DSDT's {@code \_S5} package gives: soft off. */
    public static final int S5_SLEEP_TYPE = 5;

    private static final int SLP_EN = 1 << 5;
    private static final int SLP_TYP_SHIFT = 2;
    private static final int SLP_TYP_MASK = 7;

    private final Runnable powerOffRequested;

    /** Registers that call {@code powerOffRequested} (on the vCPU thread) when the guest enters S5. */
    public SleepControl(Runnable powerOffRequested) {
        this.powerOffRequested = Objects.requireNonNull(powerOffRequested, "powerOffRequested");
    }

    @Override
    public void read(long offset, MemorySegment data) {
        data.fill((byte) 0); // status: not waking, nothing pending; control reads as zero
    }

    @Override
    public void write(long offset, MemorySegment data) {
        if (offset != 0 || data.byteSize() < 1) {
            return; // the status register's bits are write-1-to-clear, and none is ever set
        }
        int value = data.get(ValueLayout.JAVA_BYTE, 0) & 0xff;
        if ((value & SLP_EN) != 0 && ((value >> SLP_TYP_SHIFT) & SLP_TYP_MASK) == S5_SLEEP_TYPE) {
            powerOffRequested.run();
        }
    }

    @Override
    public String toString() {
        return "ACPI sleep registers";
    }
}
