// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

/** One entry of the GSI routing table ({@link Vm#setGsiRouting}): where an interrupt on a GSI goes. */
public sealed interface IrqRoute {
    /** {@return the global system interrupt this route is for} */
    int gsi();

    /** The GSI drives pin {@code pin} of in-kernel irqchip {@code irqchip} (x86: 0 PIC master, 1 PIC slave, 2 IOAPIC). */
    record Irqchip(int gsi, int irqchip, int pin) implements IrqRoute {}

    /** The GSI sends a message-signalled interrupt; {@code devid} is used where {@link Capability#MSI_DEVID} asks for it. */
    record Msi(int gsi, long address, int data, int devid, boolean validDevid) implements IrqRoute {
        public Msi(int gsi, long address, int data) {
            this(gsi, address, data, 0, false);
        }
    }
}
