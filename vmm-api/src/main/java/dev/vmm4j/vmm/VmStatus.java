// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import java.util.Objects;
import java.util.Optional;

/**
 * A snapshot of a VM, as {@link VirtualMachine#status()} reports it.
 *
 * @param state whether the VM has not started, runs, or has ended
 * @param memoryBytes the guest's RAM
 * @param vcpus the number of vCPUs
 * @param exitStatus why the VM ended, once it has
 */
public record VmStatus(State state, long memoryBytes, int vcpus, Optional<ExitStatus> exitStatus) {
    /** Checks the arguments. */
    public VmStatus {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(exitStatus, "exitStatus");
    }

    /** Where a VM is in its life. */
    public enum State {
        /** Built, not started. */
        CREATED,
        /** Its vCPUs run. */
        RUNNING,
        /** It ended; see {@link VmStatus#exitStatus()}. */
        ENDED
    }
}
