// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import java.util.Locale;

/**
 * Which guest writes signal an ioeventfd: any write ({@link #any()}), or only a write of exactly {@code length}
 * bytes with {@code value} ({@link #of(int, long)}).
 *
 * @param length bytes the write must have (1, 2, 4 or 8), or 0 for any length, as {@link #any()} has it; checked
 *     only when {@code matchValue}
 * @param value the value the write must carry, zero-extended from {@code length} bytes; ignored unless
 *     {@code matchValue}
 * @param matchValue whether only writes of {@code value} count ({@code KVM_IOEVENTFD_FLAG_DATAMATCH})
 */
public record Datamatch(int length, long value, boolean matchValue) {
    private static final Datamatch ANY = new Datamatch(0, 0, false);

    /**
     * Checks that a value match has a length of 1, 2, 4 or 8 bytes and a value that fits in it.
     *
     * @throws IllegalArgumentException if {@code matchValue} and the length is another, or the value has bits set
     *     above it
     */
    public Datamatch {
        if (matchValue && length != 1 && length != 2 && length != 4 && length != 8) {
            throw new IllegalArgumentException("datamatch length must be 1, 2, 4 or 8 bytes, got " + length);
        }
        if (matchValue && length < 8 && (value >>> (8 * length)) != 0) {
            throw new IllegalArgumentException(
                    String.format(Locale.ROOT, "datamatch value %#x does not fit in %d bytes", value, length));
        }
    }

    /**
     * {@return a match for any write of any length} It registers a zero-length ioeventfd, which needs
     * {@link Capability#IOEVENTFD_ANY_LENGTH}.
     */
    public static Datamatch any() {
        return ANY;
    }

    /**
     * {@return a match for a write of {@code length} bytes of {@code value}}
     *
     * @param length the access size in bytes: 1, 2, 4 or 8
     * @param value the value written, as an unsigned number that fits in {@code length} bytes
     * @throws IllegalArgumentException if the length is another, or the value does not fit
     */
    public static Datamatch of(int length, long value) {
        return new Datamatch(length, value, true);
    }
}
