// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.acpi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The sleep registers: only SLP_TYP 5 with SLP_EN, written to the control register, powers off. */
class SleepControlTest {
    private final AtomicInteger powerOffs = new AtomicInteger();
    private final SleepControl registers = new SleepControl(powerOffs::incrementAndGet);

    private void write(long offset, int value) {
        registers.write(offset, MemorySegment.ofArray(new byte[] {(byte) value}));
    }

    @Test
    void s5WithSlpEnPowersOffAsLinuxWritesIt() {
        write(0, 0x34); // acpi_hw_extended_sleep: (5 << 2) | SLP_EN
        assertEquals(1, powerOffs.get());
    }

    @Test
    void otherWritesDoNothing() {
        write(0, 5 << 2); // SLP_TYP 5 without SLP_EN
        write(0, (3 << 2) | 0x20); // S3 with SLP_EN: not offered
        write(0, 0x20); // S0 with SLP_EN
        write(1, 0xff); // the status register
        registers.write(0, MemorySegment.ofArray(new byte[0]));
        assertEquals(0, powerOffs.get());
        MemorySegment status = MemorySegment.ofArray(new byte[] {(byte) 0xff});
        registers.read(1, status);
        assertEquals(0, status.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0), "nothing to report");
    }
}
