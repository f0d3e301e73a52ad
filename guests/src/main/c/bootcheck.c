/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checks from inside the guest that the host gave what the boot protocol promises: boot_params with an e820 map,
 * the command line (it must hold "bootcheck=1"), CPUID with the hypervisor bit and this vCPU's APIC id, and an MP table. Prints one "ok" or
 * "FAIL" line per check and "bootcheck: done", which the host test reads over the serial port.
 */
#include "kit.h"

static int failures;

static void check(int ok, const char *what) {
    puts(ok ? "ok " : "FAIL ");
    puts(what);
    putc('\n');
    if (!ok) failures++;
}

static int find_mp_table(void) {
    for (u64 p = 0x9fc00; p < 0xa0000; p += 16) {
        if (read32(p) == 0x5f504d5f) { /* "_MP_" */
            u8 sum = 0;
            for (int i = 0; i < 16; i++) sum += read8(p + i);
            u64 table = read32(p + 4);
            return sum == 0 && read32(table) == 0x504d4350; /* "PCMP" */
        }
    }
    return 0;
}

int main(u64 bp) {
    puts("bootcheck: boot_params at 0x"); puthex(bp, 8); putc('\n');

    u8 entries = read8(bp + BP_E820_ENTRIES);
    puts("e820 entries: "); putdec(entries); putc('\n');
    u64 usable = 0;
    for (u8 i = 0; i < entries && i < 128; i++) {
        u64 e = bp + BP_E820_TABLE + 20 * (u64) i;
        puts("e820 "); puthex(read64(e), 16); putc(' '); puthex(read64(e + 8), 16); putc(' '); putdec(read32(e + 16)); putc('\n');
        if (read32(e + 16) == 1) usable += read64(e + 8);
    }
    check(entries >= 2 && read64(bp + BP_E820_TABLE) == 0, "e820 starts with low memory");
    puts("usable bytes: "); putdec(usable); putc('\n');

    const char *cmdline = (const char *) (u64) read32(bp + BP_HDR_CMD_LINE_PTR);
    puts("cmdline: "); puts(cmdline); putc('\n');
    check(contains(cmdline, "bootcheck=1"), "command line");

    u32 a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    check((c >> 31) & 1, "cpuid hypervisor bit");
    check((b >> 24) == 0, "cpuid apic id 0");
    check(find_mp_table(), "mp table");

    puts(failures ? "bootcheck: FAILED\n" : "bootcheck: done\n");
    return failures;
}
