// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.devices;

import dev.vmm4j.vmm.bus.BusDevice;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.time.Clock;
import java.util.Objects;

/**
 * An ARM PrimeCell PL031 real-time clock, as crosvm gives an aarch64 guest (Linux's rtc-pl031): RTCDR reads the time
 * in seconds, RTCLR sets it (kept as an offset from the host clock), and the PrimeCell id registers identify it. The
 * match interrupt is not wired: RTCMR, RTCIMSC and RTCICR hold what the guest writes, and RTCRIS stays 0, so
 * {@code hwclock} works and alarms do not fire.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class Pl031 implements BusDevice {
    static final int RTCDR = 0x000;
    static final int RTCMR = 0x004;
    static final int RTCLR = 0x008;
    static final int RTCCR = 0x00c;
    static final int RTCIMSC = 0x010;
    static final int RTCRIS = 0x014;
    static final int RTCMIS = 0x018;
    static final int RTCICR = 0x01c;
    /** PeriphID0-3 then PCellID0-3, one byte each in the low bits of 32-bit registers from 0xfe0. */
    private static final int[] ID = {0x31, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Clock clock;
    private long offsetSeconds;
    private int match;
    private int mask;

    /**
     * A clock reading {@code clock}, such as {@link Clock#systemUTC()}.
     *
     * @param clock read whenever the guest reads or sets the time; what the guest sets is kept as an offset from it,
     *     so the clock itself never changes
     */
    public Pl031(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public synchronized void read(long offset, MemorySegment data) {
        if (data.byteSize() != 4 || (offset & 3) != 0) {
            data.fill((byte) 0);
            return;
        }
        int value = switch ((int) offset) {
            case RTCDR -> (int) (clock.instant().getEpochSecond() + offsetSeconds);
            case RTCMR -> match;
            case RTCLR -> (int) (clock.instant().getEpochSecond() + offsetSeconds);
            case RTCCR -> 1; // always started
            case RTCIMSC -> mask;
            case RTCRIS, RTCMIS -> 0;
            default -> offset >= 0xfe0 && offset <= 0xffc ? ID[(int) ((offset - 0xfe0) / 4)] : 0;
        };
        data.set(INT, 0, value);
    }

    @Override
    public synchronized void write(long offset, MemorySegment data) {
        if (data.byteSize() != 4 || (offset & 3) != 0) {
            return;
        }
        int value = data.get(INT, 0);
        switch ((int) offset) {
            case RTCLR ->
                offsetSeconds = Integer.toUnsignedLong(value) - clock.instant().getEpochSecond();
            case RTCMR -> match = value;
            case RTCIMSC -> mask = value & 1;
            default -> {} // RTCCR (the clock always runs), RTCICR (no interrupt to clear), read-only registers
        }
    }

    @Override
    public String toString() {
        return "Pl031";
    }
}
