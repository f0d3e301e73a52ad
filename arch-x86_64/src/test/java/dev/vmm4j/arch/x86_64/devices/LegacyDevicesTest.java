// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LegacyDevicesTest {
    private static MemorySegment bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return MemorySegment.ofArray(b);
    }

    @Test
    void i8042ResetCommandRequestsAResetAndNothingElseDoes() {
        AtomicInteger resets = new AtomicInteger();
        I8042 i8042 = new I8042(resets::incrementAndGet);
        i8042.write(I8042.COMMAND, bytes(0xd1)); // write output port: not a reset
        i8042.write(0, bytes(0xfe)); // 0xfe to the data port: not a command
        assertEquals(0, resets.get());
        i8042.write(I8042.COMMAND, bytes(0xfe));
        assertEquals(1, resets.get());
        MemorySegment status = bytes(0xff);
        i8042.read(I8042.COMMAND, status);
        assertEquals(0, status.get(ValueLayout.JAVA_BYTE, 0), "no data, input buffer empty");
    }

    private static int readCmos(Cmos cmos, int register) {
        cmos.write(Cmos.INDEX, bytes(register | 0x80)); // with the NMI-mask bit, as Linux writes it
        MemorySegment data = bytes(0);
        cmos.read(Cmos.DATA, data);
        return data.get(ValueLayout.JAVA_BYTE, 0) & 0xff;
    }

    @Test
    void cmosClockReadsTheEmbeddersClockInBcd() {
        Clock clock = Clock.fixed(Instant.parse("2026-11-27T21:07:59Z"), ZoneOffset.UTC);
        Cmos cmos = new Cmos(clock, 256L << 20, 0);
        assertEquals(0x59, readCmos(cmos, Cmos.SECONDS));
        assertEquals(0x07, readCmos(cmos, Cmos.MINUTES));
        assertEquals(0x21, readCmos(cmos, Cmos.HOURS));
        assertEquals(0x27, readCmos(cmos, Cmos.DAY_OF_MONTH));
        assertEquals(0x11, readCmos(cmos, Cmos.MONTH));
        assertEquals(0x26, readCmos(cmos, Cmos.YEAR));
        assertEquals(0x20, readCmos(cmos, Cmos.CENTURY));
        assertEquals(0x06, readCmos(cmos, Cmos.DAY_OF_WEEK), "a Friday; 1 is Sunday");
        assertEquals(0x02, readCmos(cmos, Cmos.STATUS_B), "24-hour BCD");
        assertEquals(0, readCmos(cmos, Cmos.STATUS_A) & 0x80, "never mid-update");
        assertEquals(0x80, readCmos(cmos, Cmos.STATUS_D));
    }

    @Test
    void cmosReportsMemorySizesAndKeepsRamButNotClockWrites() {
        Cmos cmos = new Cmos(Clock.systemUTC(), 3L << 30, 2L << 30);
        int above16m = readCmos(cmos, Cmos.MEMORY_ABOVE_16M) | readCmos(cmos, Cmos.MEMORY_ABOVE_16M + 1) << 8;
        assertEquals(((3L << 30) - (16L << 20)) >>> 16, above16m);
        int above4g = readCmos(cmos, Cmos.MEMORY_ABOVE_4G)
                | readCmos(cmos, Cmos.MEMORY_ABOVE_4G + 1) << 8
                | readCmos(cmos, Cmos.MEMORY_ABOVE_4G + 2) << 16;
        assertEquals((2L << 30) >>> 16, above4g);

        cmos.write(Cmos.INDEX, bytes(0x40));
        cmos.write(Cmos.DATA, bytes(0x99));
        assertEquals(0x99, readCmos(cmos, 0x40));
        cmos.write(Cmos.INDEX, bytes(Cmos.STATUS_B));
        cmos.write(Cmos.DATA, bytes(0x06)); // binary mode: ignored
        assertEquals(0x02, readCmos(cmos, Cmos.STATUS_B));
        assertThrows(IllegalArgumentException.class, () -> new Cmos(Clock.systemUTC(), 5L << 30, 0));
    }
}
