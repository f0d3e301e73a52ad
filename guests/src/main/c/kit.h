/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vmm4j guest kit: what a freestanding test guest needs to talk to the VMM. Guests run in 64-bit mode, entered
 * as the Linux 64-bit boot protocol enters a kernel (rsi = boot_params), on the identity map of the first GiB.
 * Everything here is general-register code: the development machines' KVM emulates ring 0 and rejects SSE and x87.
 */
#ifndef VMM4J_KIT_H
#define VMM4J_KIT_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;

#define COM1 0x3f8

static inline void outb(u16 port, u8 value) { __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline void putc(char c) {
    while (!(inb(COM1 + 5) & 0x20)) { } /* wait for an empty transmit holding register */
    outb(COM1, (u8) c);
}

static inline void puts(const char *s) { while (*s) putc(*s++); }

static inline void puthex(u64 value, int digits) {
    for (int i = digits - 1; i >= 0; i--) putc("0123456789abcdef"[(value >> (4 * i)) & 0xf]);
}

static inline void putdec(u64 value) {
    char buffer[21];
    int i = 20;
    buffer[i] = 0;
    do { buffer[--i] = (char) ('0' + value % 10); value /= 10; } while (value);
    puts(&buffer[i]);
}

static inline void cpuid(u32 leaf, u32 subleaf, u32 *a, u32 *b, u32 *c, u32 *d) {
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(subleaf));
}

/* Pulses the reset line through the i8042: the VMM ends the VM as a guest reset. */
static inline __attribute__((noreturn)) void reset(void) {
    outb(0x64, 0xfe);
    for (;;) __asm__ volatile("hlt");
}

static inline int streq(const char *a, const char *b) {
    while (*a && *a == *b) { a++; b++; }
    return *a == *b;
}

static inline int contains(const char *haystack, const char *needle) {
    for (; *haystack; haystack++) {
        const char *h = haystack, *n = needle;
        while (*n && *h == *n) { h++; n++; }
        if (!*n) return 1;
    }
    return !*needle;
}

static inline u8 read8(u64 address) { return *(volatile u8 *) address; }
static inline u16 read16(u64 address) { return *(volatile u16 *) address; }
static inline u32 read32(u64 address) { return *(volatile u32 *) address; }
static inline u64 read64(u64 address) { return *(volatile u64 *) address; }

/* boot_params offsets (Documentation/arch/x86/zero-page.rst). */
#define BP_E820_ENTRIES 0x1e8
#define BP_HDR_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2d0

int main(u64 boot_params);

#endif
