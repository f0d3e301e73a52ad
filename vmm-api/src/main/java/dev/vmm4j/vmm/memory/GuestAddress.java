// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.memory;

import java.util.Locale;

/**
 * A guest-physical address: an unsigned 64-bit value with checked arithmetic. Used where addresses are configured
 * and passed through APIs; hot paths take a plain {@code long gpa}.
 */
public record GuestAddress(long value) implements Comparable<GuestAddress> {
    /** Address 0. */
    public static final GuestAddress ZERO = new GuestAddress(0);

    /** {@return the address {@code value}, read as unsigned} */
    public static GuestAddress of(long value) {
        return new GuestAddress(value);
    }

    /** {@return this address plus {@code offset}} @throws ArithmeticException if the sum passes 2^64 - 1 */
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

    /** {@return this address minus {@code offset}} @throws ArithmeticException if the result is below 0 */
    public GuestAddress subtract(long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must not be negative: " + offset + "; use add");
        }
        if (Long.compareUnsigned(value, offset) < 0) {
            throw new ArithmeticException(String.format(Locale.ROOT, "%s - %#x is below address 0", this, offset));
        }
        return new GuestAddress(value - offset);
    }

    /** {@return how far this address is above {@code base}} @throws ArithmeticException if it is below it */
    public long offsetFrom(GuestAddress base) {
        if (Long.compareUnsigned(value, base.value) < 0) {
            throw new ArithmeticException(this + " is below " + base);
        }
        return value - base.value;
    }

    /** {@return whether this address is a multiple of {@code alignment}, a power of two} */
    public boolean isAligned(long alignment) {
        requirePowerOfTwo(alignment);
        return (value & (alignment - 1)) == 0;
    }

    /** {@return the lowest multiple of {@code alignment} (a power of two) at or above this address} */
    public GuestAddress alignUp(long alignment) {
        requirePowerOfTwo(alignment);
        return isAligned(alignment) ? this : new GuestAddress(value & -alignment).add(alignment);
    }

    /** {@return the highest multiple of {@code alignment} (a power of two) at or below this address} */
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
