// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * An Ethernet MAC address for a guest's network device.
 *
 * @param bytes the six bytes, most significant first
 */
public record MacAddress(byte[] bytes) {
    private static final HexFormat COLONS = HexFormat.ofDelimiter(":");

    /**
     * Checks the length and copies the bytes. A multicast address is taken here; {@link #parse} refuses one.
     *
     * @throws IllegalArgumentException if there are not six bytes
     */
    public MacAddress {
        Objects.requireNonNull(bytes, "bytes");
        if (bytes.length != 6) {
            throw new IllegalArgumentException("a MAC address has 6 bytes, not " + bytes.length);
        }
        bytes = bytes.clone();
    }

    /**
     * {@return the address written as {@code aa:bb:cc:dd:ee:ff}}
     *
     * @param text exactly 17 characters: six hex bytes (either case) separated by colons
     * @throws IllegalArgumentException if {@code text} is not six two-digit hex bytes separated by colons, or names a
     *     multicast address (a device's own address must be unicast)
     */
    public static MacAddress parse(String text) {
        Objects.requireNonNull(text, "text");
        byte[] parsed;
        try {
            if (text.length() != 17) {
                throw new IllegalArgumentException("wrong length");
            }
            parsed = COLONS.parseHex(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "'" + text + "' is not a MAC address: write six hex bytes with colons, as 52:54:00:12:34:56");
        }
        MacAddress address = new MacAddress(parsed);
        if (address.isMulticast()) {
            throw new IllegalArgumentException("'" + text
                    + "' is a multicast address (the low bit of its first byte is set); a device needs a unicast one");
        }
        return address;
    }

    /** {@return the bytes, a copy} */
    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** {@return whether this is a group address (the low bit of the first byte)} */
    public boolean isMulticast() {
        return (bytes[0] & 1) != 0;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof MacAddress mac && Arrays.equals(bytes, mac.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return COLONS.formatHex(bytes);
    }
}
