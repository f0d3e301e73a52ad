/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Just enough ACPI for test guests: finds the RSDP (the zero page's acpi_rsdp_addr, else the BIOS area), the XSDT's
 * FADT and the DSDT, and reads from vmm4j's DSDT what a guest needs without an AML interpreter: each virtio-mmio window
 * (a device whose _HID is "LNRO0005", its Memory32Fixed base and its Interrupt) and the \_S5 sleep type; then powers
 * off as Linux's acpi_power_off does on a hardware-reduced machine (SLP_TYP | SLP_EN to the sleep control register).
 * It trusts the tables' layout as vmm4j writes them; it is a test kit, not firmware.
 */
#ifndef VMM4J_ACPI_H
#define VMM4J_ACPI_H

#include "kit.h"

#define BP_ACPI_RSDP_ADDR 0x070

static inline int acpi_signature(u64 address, const char *signature, int length) {
    for (int i = 0; i < length; i++) {
        if (read8(address + (u64) i) != (u8) signature[i]) return 0;
    }
    return 1;
}

/* The RSDP's address, or 0: the zero page's pointer first, then the legacy search of 0xe0000-0xfffff. */
static inline u64 acpi_rsdp(u64 bp) {
    u64 rsdp = read64(bp + BP_ACPI_RSDP_ADDR);
    if (rsdp != 0 && acpi_signature(rsdp, "RSD PTR ", 8)) return rsdp;
    for (u64 address = 0xe0000; address < 0x100000; address += 16) {
        if (acpi_signature(address, "RSD PTR ", 8)) return address;
    }
    return 0;
}

/* The address of the table with `signature` the XSDT names, or 0. */
static inline u64 acpi_table(u64 bp, const char *signature) {
    u64 rsdp = acpi_rsdp(bp);
    if (rsdp == 0 || read8(rsdp + 15) < 2) return 0;
    u64 xsdt = read64(rsdp + 24);
    if (xsdt == 0 || !acpi_signature(xsdt, "XSDT", 4)) return 0;
    u32 entries = (read32(xsdt + 4) - 36) / 8;
    for (u32 i = 0; i < entries; i++) {
        u64 table = read64(xsdt + 36 + 8 * (u64) i);
        if (acpi_signature(table, signature, 4)) return table;
    }
    return 0;
}

static inline u64 acpi_dsdt(u64 bp) {
    u64 fadt = acpi_table(bp, "FACP");
    if (fadt == 0) return 0;
    u64 dsdt = read64(fadt + 140); /* X_DSDT */
    return dsdt != 0 && acpi_signature(dsdt, "DSDT", 4) ? dsdt : 0;
}

/* The offset of `pattern` in the DSDT at or after `from`, or 0 if it is not there. */
static inline u32 acpi_find(u64 dsdt, u32 from, const char *pattern, int length) {
    u32 size = read32(dsdt + 4);
    for (u32 at = from; at + (u32) length <= size; at++) {
        if (acpi_signature(dsdt + at, pattern, length)) return at;
    }
    return 0;
}

/*
 * Fills bases[] and irqs[] with the virtio-mmio windows the DSDT names, in order; returns how many. After each
 * "LNRO0005" the device's _CRS holds a Memory32Fixed descriptor (0x86, length 9) and an Extended Interrupt
 * descriptor (0x89, length 6), as vmm4j writes them.
 */
static inline int acpi_virtio_mmio(u64 bp, u64 *bases, u32 *irqs, int max) {
    u64 dsdt = acpi_dsdt(bp);
    if (dsdt == 0) return 0;
    int n = 0;
    u32 at = 36;
    while (n < max && (at = acpi_find(dsdt, at, "LNRO0005", 8)) != 0) {
        u32 memory = acpi_find(dsdt, at, "\x86\x09\x00", 3);
        u32 interrupt = memory ? acpi_find(dsdt, memory, "\x89\x06\x00", 3) : 0;
        if (interrupt == 0) break;
        bases[n] = read32(dsdt + memory + 4);
        irqs[n] = read32(dsdt + interrupt + 5);
        n++;
        at += 8;
    }
    return n;
}

/* The \_S5 package's first element (SLP_TYPa), or -1 if the DSDT has none. */
static inline int acpi_s5_sleep_type(u64 bp) {
    u64 dsdt = acpi_dsdt(bp);
    if (dsdt == 0) return -1;
    u32 at = acpi_find(dsdt, 36, "_S5_", 4);
    if (at == 0 || read8(dsdt + at + 4) != 0x12) return -1; /* PackageOp */
    u64 element = dsdt + at + 4 + 3;                        /* PackageOp, one-byte PkgLength, NumElements */
    u8 op = read8(element);
    if (op == 0x00 || op == 0x01) return op;                /* ZeroOp, OneOp */
    if (op == 0x0a) return read8(element + 1);              /* BytePrefix */
    return -1;
}

/* Enters S5 through the FADT's sleep control register; returns only if the VMM did not end the VM. */
static inline void acpi_power_off(u64 bp) {
    u64 fadt = acpi_table(bp, "FACP");
    int type = acpi_s5_sleep_type(bp);
    if (fadt == 0 || type < 0 || read8(fadt + 244) != 1) return; /* no table, no \_S5, or not an I/O register */
    u16 port = (u16) read64(fadt + 244 + 4);
    outb(port, (u8) (((type & 7) << 2) | (1 << 5)));             /* SLP_TYP, SLP_EN */
}

#endif
