// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;

/** Why a {@link VirtualMachine} ended. {@link #description()} says it in a line a user can read. */
public sealed interface ExitStatus {
    /** {@return one line saying why the VM ended} */
    String description();

    /** {@return whether the guest ended the VM itself in an orderly way (a reset or power-off)} */
    default boolean isClean() {
        return this instanceof GuestReset || this instanceof GuestPowerOff;
    }

    /** The guest asked for a reset (x86: through the i8042; a VMM ends the VM, as crosvm does). */
    record GuestReset() implements ExitStatus {
        public String description() {
            return "the guest reset the machine";
        }
    }

    /** The guest powered the machine off. */
    record GuestPowerOff() implements ExitStatus {
        public String description() {
            return "the guest powered the machine off";
        }
    }

    /**
     * The guest triple-faulted: KVM reported a shutdown of vCPU {@code vcpu}.
     *
     * @param vcpu the vCPU's id, from 0 (on x86, its initial APIC id)
     */
    record TripleFault(int vcpu) implements ExitStatus {
        public String description() {
            return "vcpu " + vcpu + " triple-faulted (KVM shutdown): the guest crashed";
        }
    }

    /**
     * KVM could not go on with vCPU {@code vcpu}: an internal error, with the guest's RIP and the instruction bytes.
     *
     * @param vcpu the vCPU's id, from 0 (on x86, its initial APIC id)
     * @param suberror KVM's {@code KVM_INTERNAL_ERROR_*} code: 1 emulation, 2 simultaneous exceptions, 3 delivery
     *     event, ...
     * @param rip the vCPU's program counter when it stopped (x86: RIP), a guest-virtual address; -1 if it could not be
     *     read
     * @param instruction the bytes of the instruction KVM failed to emulate, empty when KVM gave none; copied, here and
     *     by the accessor, and compared by identity in {@code equals}
     */
    record InternalError(int vcpu, int suberror, long rip, byte[] instruction) implements ExitStatus {
        /** Copies the instruction bytes. */
        public InternalError {
            instruction = instruction.clone();
        }

        /** {@return the instruction bytes KVM reported (a copy)} */
        @Override
        public byte[] instruction() {
            return instruction.clone();
        }

        public String description() {
            return String.format(
                    Locale.ROOT,
                    "KVM internal error %d on vcpu %d at rip %#x%s",
                    suberror,
                    vcpu,
                    rip,
                    instruction.length == 0
                            ? ""
                            : " (instruction " + HexFormat.ofDelimiter(" ").formatHex(instruction) + ")");
        }
    }

    /**
     * The CPU refused to enter the guest on vCPU {@code vcpu}.
     *
     * @param vcpu the vCPU's id, from 0 (on x86, its initial APIC id)
     * @param hardwareReason KVM's {@code hardware_entry_failure_reason} (on Intel, the VM-entry failure exit reason),
     *     as the hardware reported it
     */
    record FailEntry(int vcpu, long hardwareReason) implements ExitStatus {
        public String description() {
            return String.format(
                    Locale.ROOT, "vcpu %d failed to enter the guest (hardware reason %#x)", vcpu, hardwareReason);
        }
    }

    /** The embedder stopped the VM ({@link VirtualMachine#stop()}). */
    record HostStop() implements ExitStatus {
        public String description() {
            return "stopped by the host";
        }
    }

    /**
     * Something the VM runs failed in a way it cannot go on from: a vCPU or device thread that died of an exception or
     * an error (then {@code what} names the thread, such as {@code vcpu-0} or {@code virtio-blk-0}), or a device that
     * gave up.
     *
     * @param what names what failed, such as a thread ({@code vcpu-0}) or {@code the guest}; not null
     * @param cause what it failed with; not null
     */
    record Failure(String what, Throwable cause) implements ExitStatus {
        /** Checks the arguments. */
        public Failure {
            Objects.requireNonNull(what, "what");
            Objects.requireNonNull(cause, "cause");
        }

        public String description() {
            // An Error's class says more than its message (a StackOverflowError has none).
            String reason =
                    cause instanceof Error || cause.getMessage() == null ? cause.toString() : cause.getMessage();
            return what + " failed: " + reason;
        }
    }
}
