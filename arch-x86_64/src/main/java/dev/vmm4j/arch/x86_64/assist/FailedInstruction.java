// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.assist;

import java.util.HexFormat;
import java.util.Locale;

/**
 * An instruction KVM's emulator failed on: where (the vCPU, RIP, and the privilege level it ran at) and its bytes as
 * KVM reported them (up to 15; possibly fewer than the instruction has, and possibly none).
 *
 * @param vcpu the id of the vCPU it failed on; 0 is the boot vCPU
 * @param rip the guest's RIP at the instruction: a guest-virtual address, not a guest-physical one
 * @param cpl the privilege level it ran at (SS.DPL), 0 (kernel) to 3 (user)
 * @param bytes the bytes KVM reported, at most {@link #MAX_LENGTH}; copied on the way in and on the way out
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

    /**
     * {@return whether KVM reported at least one byte and the first is {@code opcode}}
     *
     * @param opcode the byte as an unsigned value, 0 to 255 ({@code 0xcc}, not {@code (byte) 0xcc})
     */
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
