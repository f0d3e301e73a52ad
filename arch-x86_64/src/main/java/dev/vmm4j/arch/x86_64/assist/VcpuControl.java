// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.assist;

/** What an {@link EmulationAssist} may do to the vCPU whose instruction failed. */
public interface VcpuControl {
    /**
     * Moves RIP past {@code length} bytes, as if the instruction there had run and done nothing else.
     *
     * @param length the instruction's length in bytes: only bytes the assist decoded, 1 to
     *     {@link FailedInstruction#MAX_LENGTH} in all
     * @throws IllegalArgumentException if {@code length}, or all an assist skips, is outside 1 to 15
     */
    void skip(int length);

    /**
     * Makes the vCPU take exception {@code vector} (without an error code) when it next enters the guest, as the CPU
     * raises it after a trap-type instruction such as int3: the guest's own handler then runs with RIP as it is now.
     *
     * @param vector an architectural exception, 0 to 31, such as 3 (#BP); one per completed instruction
     * @throws IllegalArgumentException if {@code vector} is outside 0 to 31, or an assist injects a second one
     */
    void injectException(int vector);
}
