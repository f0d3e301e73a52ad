/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Powers the machine off through ACPI, as Linux's acpi_power_off does on a hardware-reduced machine: finds the FADT
 * and the DSDT's \_S5 package, and writes SLP_TYP | SLP_EN to the FADT's sleep control register. Prints what it found
 * ("poweroff: ..." lines); if the VM is still running afterwards, prints "poweroff: FAIL still running" and resets.
 */
#include "acpi.h"

int main(u64 bp) {
    u64 rsdp = acpi_rsdp(bp);
    puts("poweroff: rsdp at 0x"); puthex(rsdp, 5); puts(" (zero page says 0x"); puthex(read64(bp + BP_ACPI_RSDP_ADDR), 5);
    puts(")\n");
    u64 fadt = acpi_table(bp, "FACP");
    if (fadt == 0) {
        puts("poweroff: FAIL no FADT\n");
        return 1;
    }
    puts("poweroff: hardware-reduced "); putdec((read32(fadt + 112) >> 20) & 1);
    puts(", sleep control register at port 0x"); puthex(read64(fadt + 244 + 4), 4); putc('\n');
    int type = acpi_s5_sleep_type(bp);
    puts("poweroff: \\_S5 sleep type "); putdec((u64) type); putc('\n');
    acpi_power_off(bp);
    puts("poweroff: FAIL still running\n");
    return 1;
}
