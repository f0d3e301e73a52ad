// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * An ACPI system description table: the 36-byte header every table but the RSDP starts with (ACPI 6.5, 5.2.6), the
 * body after it, and the checksum that makes all its bytes sum to zero.
 */
final class SystemDescriptionTable {
    /** The header's size in bytes. */
    static final int HEADER_BYTES = 36;
    /** Who made the tables, in the header's OEM ID and creator fields. */
    static final String OEM_ID = "VMM4J ";

    private SystemDescriptionTable() {}

    /** {@return a table with {@code signature} and {@code revision} around {@code body}, its checksum set} */
    static byte[] of(String signature, int revision, byte[] body) {
        ByteBuffer table = ByteBuffer.allocate(HEADER_BYTES + body.length).order(ByteOrder.LITTLE_ENDIAN);
        table.put(ascii(signature, 4))
                .putInt(HEADER_BYTES + body.length)
                .put((byte) revision)
                .put((byte) 0) // checksum, below
                .put(ascii(OEM_ID, 6))
                .put(ascii("VMM4J" + signature, 8)) // OEM table ID
                .putInt(1) // OEM revision
                .put(ascii("VMM4", 4)) // creator ID
                .putInt(1) // creator revision
                .put(body);
        byte[] bytes = table.array();
        bytes[9] = checksum(bytes, 0, bytes.length);
        return bytes;
    }

    /** {@return the byte that makes {@code bytes[from, to)} sum to zero, modulo 256} */
    static byte checksum(byte[] bytes, int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) {
            sum += bytes[i];
        }
        return (byte) -sum;
    }

    static byte[] ascii(String text, int length) {
        byte[] bytes = new byte[length];
        byte[] given = text.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(given, 0, bytes, 0, Math.min(length, given.length));
        return bytes;
    }
}
