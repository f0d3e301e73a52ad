// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.acpi;

import java.nio.ByteBuffer;

/**
 * A Generic Address Structure (ACPI 6.5, 5.2.3.2): where a register is, as the FADT names its sleep registers.
 *
 * @param port the I/O port
 */
record GenericAddress(int port) {
    /** The structure's size in bytes. */
    static final int BYTES = 12;

    /** Writes the structure for a byte-wide register at I/O port {@link #port}. */
    void writeTo(ByteBuffer out) {
        out.put((byte) 1) // system I/O space
                .put((byte) 8) // 8 bits wide
                .put((byte) 0) // at bit 0
                .put((byte) 1) // byte access
                .putLong(port);
    }
}
