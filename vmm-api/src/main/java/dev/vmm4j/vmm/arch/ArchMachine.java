// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.arch;

import dev.vmm4j.vmm.devices.DeviceNode;
import dev.vmm4j.vmm.kvm.VcpuExit;
import java.io.IOException;
import java.util.List;

/**
 * One VM's architecture-specific part, made by {@link LinuxArch#createMachine}: it holds that VM's state (the
 * interrupt controller it created, the vCPUs it set up) and boots it. What it creates that must be closed it hands to
 * {@code context.devices().closeOnExit(..)}, the one way a VM learns what to close; the VM itself closes the vCPUs.
 *
 * <p><b>Thread safety:</b> {@link #boot} is called once, on the thread that builds the VM;
 * {@link #programCounter(int)} and {@link #assist} on the thread of that vCPU.
 */
public interface ArchMachine {
    /**
     * Loads the kernel and initrd, writes the boot structures with a command line of the architecture's parameters,
     * those that announce {@code devices} (where the architecture announces devices on it) and
     * {@code spec.commandLine()}, in that order, then creates every vCPU and sets it up to boot. Call it once.
     *
     * @param spec the kernel, initrd and embedder's parameters, as the builder checked them
     * @param devices every device the VM's devices announced, in the order they attached; the architecture announces
     *     them to the guest as {@code spec.deviceAnnouncement()} says
     * @return the vCPUs to run and the command line as written
     * @throws IOException if the kernel or initrd cannot be read
     * @throws IllegalArgumentException with the reason, if the kernel or initrd cannot be loaded, a device cannot be
     *     announced to this architecture's guests, or the command line is too long
     * @throws IllegalStateException if called a second time
     */
    Boot boot(BootSpec spec, List<DeviceNode> devices) throws IOException;

    /**
     * {@return vCPU {@code vcpu}'s program counter (x86: RIP), for error reports; call it on that vCPU's thread}
     *
     * @param vcpu the vCPU's id, as {@link Boot#vcpus()} numbers them from 0
     */
    long programCounter(int vcpu);

    /**
     * KVM could not go on with vCPU {@code vcpu} ({@code error}); the architecture may complete what KVM could not (on
     * x86, an instruction its emulator rejected) and return true, and the vCPU runs on. False, the default, ends the VM
     * with {@code ExitStatus.InternalError}. Called on that vCPU's thread; it decides from what KVM reported, never
     * guesses.
     *
     * @param vcpu the vCPU's id, as {@link Boot#vcpus()} numbers them from 0
     * @param error what KVM reported, valid only until the vCPU runs again
     * @return true if the architecture completed the instruction and the vCPU may run on; false to end the VM
     */
    default boolean assist(int vcpu, VcpuExit.InternalError error) {
        return false;
    }
}
