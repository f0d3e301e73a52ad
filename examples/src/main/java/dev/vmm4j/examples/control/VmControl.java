// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.control;

/**
 * What the control socket can do to a VM; {@link VirtualMachineControl} does it to a
 * {@link dev.vmm4j.vmm.VirtualMachine}, tests to a fake.
 *
 * <p><b>Thread safety:</b> called from the control socket's thread; implementations must allow that.
 */
public interface VmControl {
    /** Ends the VM. */
    void exit();

    /**
     * Sets the balloon's target.
     *
     * @throws IllegalStateException if the VM has no balloon
     */
    void balloon(long bytes);

    /** {@return the status response's fields, such as {@code state=running memory=268435456}} */
    String status();
}
