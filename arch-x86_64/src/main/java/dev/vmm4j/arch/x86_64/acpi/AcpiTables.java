// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.acpi;

import dev.vmm4j.arch.x86_64.boot.X86Layout;
import dev.vmm4j.vmm.devices.DeviceNode;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Objects;

/**
 * The ACPI tables of an x86_64 VM, written into guest memory at boot: the RSDP at {@link X86Layout#ACPI_TABLES}
 * (inside the area a legacy search scans, and also handed to Linux in the zero page), an XSDT naming the FADT and the
 * MADT, and the DSDT the FADT points at. A hardware-reduced machine, as Firecracker's and QEMU's microvm: no PM timer,
 * no SCI, no GPEs; power-off through the FADT's sleep registers ({@link SleepControl}).
 */
public final class AcpiTables {
    private static final long LIMIT = 0x10_0000; // the BIOS area ends at 1 MiB
    private static final int RSDP_BYTES = 36;

    private AcpiTables() {}

    /**
     * Writes the tables for {@code vcpus} vCPUs and {@code devices} into {@code memory}. {@return the RSDP's address}
     *
     * @throws IllegalArgumentException if a device is one ACPI cannot describe, or the tables do not fit below 1 MiB
     */
    public static long write(GuestMemory memory, int vcpus, List<DeviceNode> devices) throws GuestMemoryException {
        Objects.requireNonNull(memory, "memory");
        Objects.requireNonNull(devices, "devices");
        long rsdp = X86Layout.ACPI_TABLES;
        long xsdt = align(rsdp + RSDP_BYTES);
        long fadt = align(xsdt + SystemDescriptionTable.HEADER_BYTES + 2 * 8);
        long madt = align(fadt + Fadt.BYTES);
        byte[] madtBytes = Madt.of(vcpus);
        long dsdt = align(madt + madtBytes.length);
        byte[] dsdtBytes = Dsdt.of(devices);
        if (dsdt + dsdtBytes.length > LIMIT) {
            throw new IllegalArgumentException("the ACPI tables for " + devices.size() + " devices take "
                    + (dsdt + dsdtBytes.length - rsdp) + " bytes, more than the BIOS area holds");
        }
        memory.writeFully(dsdt, dsdtBytes);
        memory.writeFully(madt, madtBytes);
        memory.writeFully(fadt, Fadt.of(dsdt));
        memory.writeFully(xsdt, xsdt(fadt, madt));
        memory.writeFully(rsdp, rsdp(xsdt));
        return rsdp;
    }

    /** {@return the XSDT naming {@code tables}} */
    static byte[] xsdt(long... tables) {
        ByteBuffer body = ByteBuffer.allocate(8 * tables.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long table : tables) {
            body.putLong(table);
        }
        return SystemDescriptionTable.of("XSDT", 1, body.array());
    }

    /** {@return the ACPI 2.0 RSDP pointing at the XSDT at {@code xsdt}, both its checksums set} */
    static byte[] rsdp(long xsdt) {
        byte[] bytes = ByteBuffer.allocate(RSDP_BYTES)
                .order(ByteOrder.LITTLE_ENDIAN)
                .put(SystemDescriptionTable.ascii("RSD PTR ", 8))
                .put((byte) 0) // checksum of the first 20 bytes, below
                .put(SystemDescriptionTable.ascii(SystemDescriptionTable.OEM_ID, 6))
                .put((byte) 2) // revision: ACPI 2.0 or later
                .putInt(0) // no RSDT: the XSDT serves
                .putInt(RSDP_BYTES)
                .putLong(xsdt)
                .put((byte) 0) // extended checksum, below
                .array();
        bytes[8] = SystemDescriptionTable.checksum(bytes, 0, 20);
        bytes[32] = SystemDescriptionTable.checksum(bytes, 0, RSDP_BYTES);
        return bytes;
    }

    private static long align(long address) {
        return (address + 15) & ~15L;
    }
}
