// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.assist;

/** What an {@link EmulationAssist} may do to the vCPU whose instruction failed. */
public interface VcpuControl {
    /** Moves RIP past {@code length} bytes, as if the instruction there had run and done nothing else. */
    void skip(int length);

    /**
     * Makes the vCPU take exception {@code vector} (without an error code) when it next enters the guest, as the CPU
     * raises it after a trap-type instruction such as int3: the guest's own handler then runs with RIP as it is now.
     */
    void injectException(int vector);
}
