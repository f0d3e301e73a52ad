// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

/** One entry of the GSI routing table ({@link Vm#setGsiRouting}): where an interrupt on a GSI goes. */
public sealed interface IrqRoute {
    /** {@return the global system interrupt this route is for} */
    int gsi();

    /**
     * The GSI drives pin {@code pin} of in-kernel irqchip {@code irqchip} (x86: 0 PIC master, 1 PIC slave, 2 IOAPIC).
     *
     * @param gsi the global system interrupt routed
     * @param irqchip which in-kernel controller: on x86 0 (PIC master), 1 (PIC slave) or 2 (IOAPIC)
     * @param pin the controller's input: 0 to 7 on a PIC, 0 to 23 on the IOAPIC
     */
    record Irqchip(int gsi, int irqchip, int pin) implements IrqRoute {}

    /**
     * The GSI sends a message-signalled interrupt; {@code devid} is used where {@link Capability#MSI_DEVID} asks for
     * it.
     *
     * @param gsi the global system interrupt routed
     * @param address the 64-bit MSI address the message is written to (on x86, {@code 0xfee0_0000} with the
     *     destination APIC id in bits 12 to 19)
     * @param data the 32-bit MSI data (on x86, the vector and delivery mode)
     * @param devid the device id (such as a PCI requester id, or the ITS device id on aarch64); passed to KVM only
     *     with {@code validDevid}
     * @param validDevid whether {@code devid} is given ({@code KVM_MSI_VALID_DEVID})
     */
    record Msi(int gsi, long address, int data, int devid, boolean validDevid) implements IrqRoute {
        /**
         * A route without a device id, for hosts that do not ask for one.
         *
         * @param gsi the global system interrupt routed
         * @param address the 64-bit MSI address
         * @param data the 32-bit MSI data
         */
        public Msi(int gsi, long address, int data) {
            this(gsi, address, data, 0, false);
        }
    }
}
