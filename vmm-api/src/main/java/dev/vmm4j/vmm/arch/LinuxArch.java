// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.arch;

import java.util.List;

/**
 * How Linux boots on one architecture's KVM: the service {@code VirtualMachine.builder()} finds with
 * {@link java.util.ServiceLoader} (the one whose {@link #supportsHost()} is true, unless the embedder names one).
 *
 * <h2>The flow, in types</h2>
 * <pre>{@code
 * MachineLayout layout = arch.layout(memoryBytes);          // pure: where RAM goes, what devices may take
 * // the VMM opens KVM, creates the VM, maps and registers layout.ram()
 * ArchMachine machine = arch.createMachine(context);         // per VM: irqchip, timers, platform devices
 * // the VMM attaches the embedder's devices through context.devices(); they announce DeviceNodes
 * Boot boot = machine.boot(spec, nodes);                     // once: kernel, boot structures, every vCPU set up
 * // the VMM runs boot.vcpus()
 * }</pre>
 * Each step needs what the one before returned, so the order cannot be got wrong, and a machine carries its own VM:
 * no call takes a KVM handle that could belong to another VM, and no per-VM state lives in the architecture object.
 *
 * <p><b>Thread safety:</b> implementations must be stateless or safe for concurrent use: one instance, found once,
 * builds every VM of a JVM, possibly several at a time. What is per VM lives in the {@link ArchMachine}.
 */
public interface LinuxArch {
    /** {@return the architecture's name, such as {@code x86_64}} */
    String name();

    /** {@return whether this JVM's host is of this architecture} */
    boolean supportsHost();

    /**
     * {@return what is wrong with booting {@code spec} on this architecture, in words a user can act on; none by
     * default} The builder asks before it opens KVM, so that such a VM fails to build with the reason.
     *
     * @param spec what the VM would boot; its files are not read here
     */
    default List<String> checkBootSpec(BootSpec spec) {
        return List.of();
    }

    /**
     * {@return where {@code memoryBytes} of RAM go, and a fresh allocator of what devices may take, for one VM}
     *
     * @param memoryBytes the guest's RAM in bytes, a multiple of 4 KiB as the builder checked; it may be split into
     *     several regions around the architecture's device windows
     */
    MachineLayout layout(long memoryBytes);

    /**
     * Sets up one VM's machine before any vCPU exists: the in-kernel interrupt controller and timers, and the platform
     * devices (serial console, reset, clock), which attach through {@link MachineContext#devices()}.
     *
     * @param context the VM, its KVM and what its machine attaches to; the machine keeps it
     * @return the VM's machine, whose {@link ArchMachine#boot} is still to be called
     * @throws dev.vmm4j.vmm.kvm.KvmException if KVM refuses a call; the message names it
     * @throws IllegalStateException if the host's KVM lacks what the architecture needs; the message says what
     */
    ArchMachine createMachine(MachineContext context);
}
