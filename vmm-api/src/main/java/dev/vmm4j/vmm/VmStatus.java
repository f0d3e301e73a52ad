package dev.vmm4j.vmm;

import java.util.Optional;

/**
 * A snapshot of a VM, as {@link VirtualMachine#status()} and the control socket report it.
 *
 * @param state whether the VM has not started, runs, or has ended
 * @param memoryBytes the guest's RAM
 * @param vcpus the number of vCPUs
 * @param balloonTargetBytes what the balloon was asked to take, if there is a balloon
 * @param balloonActualBytes what the guest says its balloon holds, if there is a balloon
 * @param exitStatus why the VM ended, once it has
 */
public record VmStatus(State state, long memoryBytes, int vcpus, Optional<Long> balloonTargetBytes,
        Optional<Long> balloonActualBytes, Optional<ExitStatus> exitStatus) {
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
