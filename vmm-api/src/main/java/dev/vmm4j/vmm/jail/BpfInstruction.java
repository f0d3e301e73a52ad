// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import java.util.Locale;

/**
 * One classic BPF instruction, as {@code struct sock_filter} holds it: {@code code} (16 bits), the jump offsets
 * {@code jt} and {@code jf} (8 bits each, counted from the next instruction) and the constant {@code k}.
 *
 * @param code the operation, such as {@code BPF_LD | BPF_W | BPF_ABS}
 * @param jt how many instructions a conditional jump skips when its condition holds, 0 to 255
 * @param jf how many it skips when it does not, 0 to 255
 * @param k the constant: an offset into {@code seccomp_data}, a value to compare, a return value
 */
public record BpfInstruction(int code, int jt, int jf, int k) {
    /**
     * Checks the fields' ranges.
     *
     * @throws IllegalArgumentException if {@code code} does not fit 16 bits or a jump offset 8 bits
     */
    public BpfInstruction {
        if ((code & ~0xffff) != 0 || (jt & ~0xff) != 0 || (jf & ~0xff) != 0) {
            throw new IllegalArgumentException(
                    String.format(Locale.ROOT, "code %#x must fit 16 bits and jt %d, jf %d 8 bits each", code, jt, jf));
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "{%#06x, %d, %d, %#010x}", code, jt, jf, k);
    }
}
