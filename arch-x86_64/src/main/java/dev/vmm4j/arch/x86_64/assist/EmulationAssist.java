// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.assist;

/**
 * Completes, in the VMM, an instruction KVM's instruction emulator failed on (KVM_EXIT_INTERNAL_ERROR with suberror
 * KVM_INTERNAL_ERROR_EMULATION), so that the guest goes on. On a host whose KVM runs guest code in hardware this never
 * happens; where KVM emulates ring 0 (as on this project's development machines), Linux needs a few: see
 * {@link EmulationAssists#standard()}.
 *
 * <p>An assist decides from the bytes KVM reported (never from guest memory) and from the privilege level. It must
 * complete only an instruction it decoded, whole, from those bytes, skip only those bytes, and refuse anything else: a
 * refused failure ends the VM with the same {@code ExitStatus.InternalError} it would have ended with anyway.
 *
 * <p><b>Thread safety:</b> called on the failing vCPU's thread; an assist shared by VMs must be safe for that.
 */
public interface EmulationAssist {
    /** {@return a short name for counts and logs, such as {@code int3}} */
    String kind();

    /**
     * Completes {@code instruction} through {@code vcpu} if this assist knows it.
     *
     * @param instruction where it failed, and the bytes KVM reported: the only bytes the assist may decode
     * @param vcpu what the assist may do to the vCPU (skip bytes, inject an exception); {@link EmulationAssists}
     *     holds these requests and carries them out only once this returns true
     * @return whether it did; false
     *         leaves the vCPU untouched
     */
    boolean complete(FailedInstruction instruction, VcpuControl vcpu);
}
