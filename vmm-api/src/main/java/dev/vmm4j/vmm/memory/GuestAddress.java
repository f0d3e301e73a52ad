// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.memory;

import java.util.Locale;

/**
 * A guest-physical address: an unsigned 64-bit value with checked arithmetic. Used where addresses are configured
 * and passed through APIs; hot paths take a plain {@code long gpa}.
 *
 * @param value the address, read as unsigned: a negative {@code long} is an address at or above 2^63
 */
public record GuestAddress(long value) implements Comparable<GuestAddress> {
    /** Address 0. */
    public static final GuestAddress ZERO = new GuestAddress(0);

    /**
     * {@return the address {@code value}, read as unsigned}
     *
     * @param value the address; every {@code long} is valid
     */
    public static GuestAddress of(long value) {
        return new GuestAddress(value);
    }

    /**
     * {@return this address plus {@code offset}}
     *
     * @param offset in bytes, not negative (use {@link #subtract(long)} to go down)
     * @throws ArithmeticException if the sum passes 2^64 - 1
     * @throws IllegalArgumentException if {@code offset} is negative
     */
    public GuestAddress add(long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must not be negative: " + offset + "; use subtract");
        }
        long sum = value + offset;
        if (Long.compareUnsigned(sum, value) < 0) {
            throw new ArithmeticException(
                    String.format(Locale.ROOT, "%s + %#x passes the end of the 64-bit address space", this, offset));
        }
        return new GuestAddress(sum);
    }

    /**
     * {@return this address minus {@code offset}}
     *
     * @param offset in bytes, not negative (use {@link #add(long)} to go up)
     * @throws ArithmeticException if the result is below 0
     * @throws IllegalArgumentException if {@code offset} is negative
     */
    public GuestAddress subtract(long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must not be negative: " + offset + "; use add");
        }
        if (Long.compareUnsigned(value, offset) < 0) {
            throw new ArithmeticException(String.format(Locale.ROOT, "%s - %#x is below address 0", this, offset));
        }
        return new GuestAddress(value - offset);
    }

    /**
     * {@return how far this address is above {@code base}, in bytes, unsigned (negative as a {@code long} when 2^63
     * or more)}
     *
     * @param base the address to measure from, at or below this one
     * @throws ArithmeticException if this address is below {@code base}
     */
    public long offsetFrom(GuestAddress base) {
        if (Long.compareUnsigned(value, base.value) < 0) {
            throw new ArithmeticException(this + " is below " + base);
        }
        return value - base.value;
    }

    /**
     * {@return whether this address is a multiple of {@code alignment}, a power of two}
     *
     * @param alignment in bytes, a power of two up to 2^62
     * @throws IllegalArgumentException if {@code alignment} is not a power of two
     */
    public boolean isAligned(long alignment) {
        requirePowerOfTwo(alignment);
        return (value & (alignment - 1)) == 0;
    }

    /**
     * {@return the lowest multiple of {@code alignment} (a power of two) at or above this address}
     *
     * @param alignment in bytes, a power of two up to 2^62
     * @throws IllegalArgumentException if {@code alignment} is not a power of two
     * @throws ArithmeticException if that multiple would pass 2^64 - 1
     */
    public GuestAddress alignUp(long alignment) {
        requirePowerOfTwo(alignment);
        return isAligned(alignment) ? this : new GuestAddress(value & -alignment).add(alignment);
    }

    /**
     * {@return the highest multiple of {@code alignment} (a power of two) at or below this address}
     *
     * @param alignment in bytes, a power of two up to 2^62
     * @throws IllegalArgumentException if {@code alignment} is not a power of two
     */
    public GuestAddress alignDown(long alignment) {
        requirePowerOfTwo(alignment);
        return new GuestAddress(value & -alignment);
    }

    private static void requirePowerOfTwo(long alignment) {
        if (alignment <= 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two, got " + alignment);
        }
    }

    @Override
    public int compareTo(GuestAddress other) {
        return Long.compareUnsigned(value, other.value);
    }

    @Override
    public String toString() {
        return "0x" + Long.toHexString(value);
    }
}
