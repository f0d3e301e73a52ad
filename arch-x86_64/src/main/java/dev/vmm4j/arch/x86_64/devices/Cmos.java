// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.devices;

import dev.vmm4j.vmm.bus.BusDevice;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.Objects;

/**
 * The CMOS real-time clock and its battery-backed RAM, at ports 0x70 (index) and 0x71 (data). The clock registers
 * read the embedder's {@link Clock} in BCD, 24-hour mode (what Linux's {@code mc146818} driver reads at boot); the
 * memory-size bytes tell firmware-style guests how much RAM there is, as SeaBIOS expects them; the other bytes are
 * plain RAM the guest may use. Writes to the clock registers are ignored: the guest cannot move the host's time.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class Cmos implements BusDevice {
    static final int INDEX = 0;
    static final int DATA = 1;

    static final int SECONDS = 0x00;
    static final int MINUTES = 0x02;
    static final int HOURS = 0x04;
    static final int DAY_OF_WEEK = 0x06;
    static final int DAY_OF_MONTH = 0x07;
    static final int MONTH = 0x08;
    static final int YEAR = 0x09;
    static final int STATUS_A = 0x0a;
    static final int STATUS_B = 0x0b;
    static final int STATUS_C = 0x0c;
    static final int STATUS_D = 0x0d;
    static final int CENTURY = 0x32;
    /** RAM from 16 MiB to 4 GiB (or its end), in 64 KiB units: low byte at 0x34, high at 0x35. */
    static final int MEMORY_ABOVE_16M = 0x34;
    /** RAM above 4 GiB, in 64 KiB units: bytes 0x5b (low) to 0x5d (high). */
    static final int MEMORY_ABOVE_4G = 0x5b;

    /** 32.768 kHz time base, 1024 Hz periodic rate; bit 7 (update in progress) is never set. */
    private static final int STATUS_A_VALUE = 0x26;
    /** 24-hour mode, BCD, no interrupts enabled. */
    private static final int STATUS_B_VALUE = 0x02;
    /** Valid RAM and time (the battery is good). */
    private static final int STATUS_D_VALUE = 0x80;

    private static final long SIXTEEN_MIB = 16L << 20;
    private static final long FOUR_GIB = 4L << 30;

    private final Clock clock;
    private final byte[] ram = new byte[128];
    private int index;

    /**
     * A CMOS for a guest whose RAM below 4 GiB ends at {@code memoryBelow4g} and which has {@code memoryAbove4g}
     * bytes above 4 GiB; time comes from {@code clock}.
     *
     * @param clock read on every access to a clock register, in its own zone; the x86_64 machine passes
     *     {@link Clock#systemUTC()}, since Linux takes the RTC for UTC
     * @param memoryBelow4g in bytes, 0 to 4 GiB; what lies above 16 MiB is shown in 64 KiB units, at most 0xffff
     * @param memoryAbove4g in bytes, not negative; shown in 64 KiB units, at most 24 bits' worth
     * @throws IllegalArgumentException if a size is out of range
     */
    public Cmos(Clock clock, long memoryBelow4g, long memoryAbove4g) {
        this.clock = Objects.requireNonNull(clock, "clock");
        if (memoryBelow4g < 0 || memoryBelow4g > FOUR_GIB || memoryAbove4g < 0) {
            throw new IllegalArgumentException(
                    "memory sizes must be in range: below 4 GiB " + memoryBelow4g + ", above " + memoryAbove4g);
        }
        long above16m = Math.min(Math.max(memoryBelow4g - SIXTEEN_MIB, 0) >>> 16, 0xffff);
        ram[MEMORY_ABOVE_16M] = (byte) above16m;
        ram[MEMORY_ABOVE_16M + 1] = (byte) (above16m >>> 8);
        long above4g = Math.min(memoryAbove4g >>> 16, 0xff_ffffL);
        ram[MEMORY_ABOVE_4G] = (byte) above4g;
        ram[MEMORY_ABOVE_4G + 1] = (byte) (above4g >>> 8);
        ram[MEMORY_ABOVE_4G + 2] = (byte) (above4g >>> 16);
    }

    @Override
    public synchronized void read(long offset, MemorySegment data) {
        if (data.byteSize() == 0) {
            return;
        }
        data.fill((byte) 0);
        if (offset == DATA) {
            data.set(ValueLayout.JAVA_BYTE, 0, (byte) register(index));
        } else if (offset == INDEX) {
            data.set(ValueLayout.JAVA_BYTE, 0, (byte) index);
        }
    }

    @Override
    public synchronized void write(long offset, MemorySegment data) {
        if (data.byteSize() == 0) {
            return;
        }
        int value = data.get(ValueLayout.JAVA_BYTE, 0) & 0xff;
        if (offset == INDEX) {
            index = value & 0x7f; // bit 7 masks NMIs on real hardware; it is not part of the index
        } else if (offset == DATA && !isClockRegister(index)) {
            ram[index] = (byte) value;
        }
    }

    private static boolean isClockRegister(int register) {
        return register <= STATUS_D || register == CENTURY;
    }

    int register(int register) {
        ZonedDateTime now = ZonedDateTime.now(clock);
        return switch (register) {
            case SECONDS -> bcd(now.getSecond());
            case MINUTES -> bcd(now.getMinute());
            case HOURS -> bcd(now.getHour());
            case DAY_OF_WEEK -> bcd(now.getDayOfWeek().getValue() % 7 + 1); // 1 = Sunday
            case DAY_OF_MONTH -> bcd(now.getDayOfMonth());
            case MONTH -> bcd(now.getMonthValue());
            case YEAR -> bcd(now.getYear() % 100);
            case CENTURY -> bcd(now.getYear() / 100);
            case STATUS_A -> STATUS_A_VALUE;
            case STATUS_B -> STATUS_B_VALUE;
            case STATUS_C -> 0;
            case STATUS_D -> STATUS_D_VALUE;
            default -> register >= 0 && register < ram.length ? ram[register] & 0xff : 0;
        };
    }

    private static int bcd(int value) {
        return ((value / 10) << 4) | (value % 10);
    }

    @Override
    public String toString() {
        return "CMOS";
    }
}
