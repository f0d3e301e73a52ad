// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.assist;

import java.util.HexFormat;
import java.util.Locale;

/**
 * An instruction KVM's emulator failed on: where (the vCPU, RIP, and the privilege level it ran at) and its bytes as
 * KVM reported them (up to 15; possibly fewer than the instruction has, and possibly none).
 */
public record FailedInstruction(int vcpu, long rip, int cpl, byte[] bytes) {
    /** The longest x86 instruction. */
    public static final int MAX_LENGTH = 15;

    /** Checks the values and copies the bytes. */
    public FailedInstruction {
        if (cpl < 0 || cpl > 3) {
            throw new IllegalArgumentException("a privilege level is 0 to 3, not " + cpl);
        }
        if (bytes.length > MAX_LENGTH) {
            throw new IllegalArgumentException("an x86 instruction has at most 15 bytes, not " + bytes.length);
        }
        bytes = bytes.clone();
    }

    /** {@return the bytes (a copy)} */
    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** {@return whether KVM reported at least one byte and the first is {@code opcode}} */
    public boolean startsWith(int opcode) {
        return bytes.length > 0 && (bytes[0] & 0xff) == opcode;
    }

    /** {@return whether the instruction ran in the kernel (privilege level 0)} */
    public boolean inKernel() {
        return cpl == 0;
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "vcpu %d at rip %#x, cpl %d: %s",
                vcpu,
                rip,
                cpl,
                bytes.length == 0 ? "no bytes" : HexFormat.ofDelimiter(" ").formatHex(bytes));
    }
}
