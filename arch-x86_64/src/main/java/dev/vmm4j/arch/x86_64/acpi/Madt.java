// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The Multiple APIC Description Table (ACPI 6.5, 5.2.12): the local APIC of each vCPU (ids 0 to n-1), the IOAPIC
 * (id n, GSIs from 0) and the local APICs' NMI line (LINT1); the same machine the MP table describes. No interrupt
 * source override: KVM's default routing takes ISA IRQ n to IOAPIC pin n (the PIT's IRQ 0 included), as the MP table
 * says.
 */
final class Madt {
    static final long LOCAL_APIC_ADDRESS = 0xfee0_0000L;
    static final long IOAPIC_ADDRESS = 0xfec0_0000L;
    private static final int PCAT_COMPAT = 1;

    private Madt() {}

    /** {@return the MADT for {@code vcpus} vCPUs} */
    static byte[] of(int vcpus) {
        if (vcpus < 1 || vcpus > 254) {
            throw new IllegalArgumentException("the MADT describes 1 to 254 vCPUs, not " + vcpus);
        }
        ByteBuffer body = ByteBuffer.allocate(8 + 8 * vcpus + 12 + 6).order(ByteOrder.LITTLE_ENDIAN);
        body.putInt((int) LOCAL_APIC_ADDRESS).putInt(PCAT_COMPAT);
        for (int id = 0; id < vcpus; id++) {
            body.put((byte) 0).put((byte) 8).put((byte) id).put((byte) id).putInt(1); // local APIC, enabled
        }
        body.put((byte) 1).put((byte) 12).put((byte) vcpus).put((byte) 0); // IOAPIC, id after the vCPUs'
        body.putInt((int) IOAPIC_ADDRESS).putInt(0);
        body.put((byte) 4).put((byte) 6).put((byte) 0xff).putShort((short) 0).put((byte) 1); // NMI on LINT1, all
        return SystemDescriptionTable.of("APIC", 5, body.array());
    }
}
