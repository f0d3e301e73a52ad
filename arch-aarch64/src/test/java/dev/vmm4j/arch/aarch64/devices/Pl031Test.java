// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** The PL031 as Linux's rtc-pl031 drives it. */
class Pl031Test {
    private static int read(Pl031 rtc, int offset) {
        MemorySegment data = MemorySegment.ofArray(new byte[4]);
        rtc.read(offset, data);
        return data.get(ValueLayout.JAVA_INT_UNALIGNED, 0);
    }

    private static void write(Pl031 rtc, int offset, int value) {
        MemorySegment data = MemorySegment.ofArray(new byte[4]);
        data.set(ValueLayout.JAVA_INT_UNALIGNED, 0, value);
        rtc.write(offset, data);
    }

    @Test
    void readsTheClockAndKeepsWhatTheGuestSets() {
        Pl031 rtc = new Pl031(Clock.fixed(Instant.ofEpochSecond(1_700_000_000L), ZoneOffset.UTC));
        assertEquals(1_700_000_000, read(rtc, Pl031.RTCDR));
        write(rtc, Pl031.RTCLR, 1_000);
        assertEquals(1_000, read(rtc, Pl031.RTCDR), "the guest's time, as an offset from the host's");
        assertEquals(1, read(rtc, Pl031.RTCCR), "always running");
        write(rtc, Pl031.RTCMR, 42);
        assertEquals(42, read(rtc, Pl031.RTCMR));
        assertEquals(0, read(rtc, Pl031.RTCRIS), "no alarm fires");
    }

    @Test
    void identifiesAsAPrimeCellPl031() {
        Pl031 rtc = new Pl031(Clock.systemUTC());
        int[] expected = {0x31, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], read(rtc, 0xfe0 + 4 * i), "id register " + Integer.toHexString(0xfe0 + 4 * i));
        }
        MemorySegment narrow = MemorySegment.ofArray(new byte[] {9, 9});
        rtc.read(Pl031.RTCDR, narrow);
        assertEquals(0, narrow.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0), "16-bit reads are not served");
    }
}
