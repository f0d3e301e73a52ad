// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.boot;

import dev.vmm4j.kvm.bindings.boot_e820_entry;
import dev.vmm4j.kvm.bindings.boot_params;
import dev.vmm4j.kvm.bindings.setup_header;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * The zero page ({@code struct boot_params}) a 64-bit Linux kernel reads through {@code rsi}: the bzImage's setup
 * header, where the command line and the initrd are, and the e820 memory map. Offsets come from the generated layout.
 */
public final class BootParams {
    /** e820 type of RAM the kernel may use. */
    public static final int E820_RAM = 1;
    /** e820 type of reserved memory. */
    public static final int E820_RESERVED = 2;
    /** type_of_loader 0xff: "undefined", as crosvm and Firecracker say. */
    private static final byte LOADER_UNDEFINED = (byte) 0xff;

    private static final int MAX_E820 = 128; // E820_MAX_ENTRIES_ZEROPAGE

    /**
     * One e820 entry.
     *
     * @param address guest-physical address where the range starts
     * @param size the range's length in bytes
     * @param type what the range is: {@link BootParams#E820_RAM}, {@link BootParams#E820_RESERVED}, or another e820
     *     type, passed to the kernel unchecked
     */
    public record E820Entry(long address, long size, int type) {
        @Override
        public String toString() {
            return String.format(
                    Locale.ROOT,
                    "[mem %#018x-%#018x] %s",
                    address,
                    address + size - 1,
                    type == E820_RAM ? "usable" : "reserved");
        }
    }

    private final List<E820Entry> e820 = new ArrayList<>();
    private Optional<byte[]> setupHeader = Optional.empty();
    private long cmdlineAddress;
    private int cmdlineSize;
    private long initrdAddress;
    private long initrdSize;
    private long acpiRsdpAddress;

    /** An empty zero page: no setup header (a vmlinux gets a minimal one), no command line, initrd or e820 map. */
    public BootParams() {}

    /**
     * {@return the e820 map crosvm gives a guest with RAM regions as in {@code memory}, the MMIO hole left out}
     *
     * @param memory the VM's guest memory; only its regions are looked at
     */
    public static List<E820Entry> e820For(GuestMemory memory) {
        List<E820Entry> map = new ArrayList<>();
        map.add(new E820Entry(0, X86Layout.EBDA_START, E820_RAM));
        // The EBDA, the BIOS area and the ACPI tables in it: memory the guest must leave alone, said so (as a PC's
        // firmware and Firecracker say it), rather than a hole.
        map.add(new E820Entry(X86Layout.EBDA_START, X86Layout.HIGH_MEMORY_START - X86Layout.EBDA_START, E820_RESERVED));
        memory.regions().forEach(region -> {
            long start = Math.max(region.start(), X86Layout.HIGH_MEMORY_START);
            long end = region.start() + region.size();
            if (Long.compareUnsigned(end, start) > 0) {
                map.add(new E820Entry(start, end - start, E820_RAM));
            }
        });
        return map;
    }

    /**
     * Sets the bzImage's setup header, copied into the zero page's {@code hdr}.
     *
     * @param header the bytes from file offset 0x1f1, as {@link dev.vmm4j.arch.x86_64.loader.BzImage#setupHeader()}
     *     gives them; copied now and cut to {@code sizeof(struct setup_header)}; the loader type, command line and
     *     initrd fields this class sets replace the header's
     * @return this
     */
    public BootParams setupHeader(byte[] header) {
        this.setupHeader = Optional.of(header.clone());
        return this;
    }

    /**
     * Sets where the command line is in guest memory and its size, the terminating NUL included.
     *
     * @param address guest-physical; the bits above 32 go in {@code ext_cmd_line_ptr}
     * @param sizeWithNul in bytes; not checked against what the kernel takes
     *     ({@link dev.vmm4j.arch.x86_64.loader.BzImage#commandLineSize()})
     * @return this
     */
    public BootParams commandLine(long address, int sizeWithNul) {
        this.cmdlineAddress = address;
        this.cmdlineSize = sizeWithNul;
        return this;
    }

    /**
     * Sets where the initrd is in guest memory and its size in bytes.
     *
     * @param address guest-physical, as {@link dev.vmm4j.arch.x86_64.loader.Initrd.Placement#address()} gives it;
     *     the bits above 32 go in {@code ext_ramdisk_image}
     * @param size in bytes; 0 (the default) means no initrd
     * @return this
     */
    public BootParams initrd(long address, long size) {
        this.initrdAddress = address;
        this.initrdSize = size;
        return this;
    }

    /**
     * Sets where the ACPI RSDP is (boot protocol 2.14's {@code acpi_rsdp_addr}).
     *
     * @param address guest-physical; 0 (the default) leaves Linux to search the BIOS area for it
     * @return this
     */
    public BootParams acpiRsdp(long address) {
        this.acpiRsdpAddress = address;
        return this;
    }

    /**
     * Sets the e820 memory map, at most 128 entries.
     *
     * @param entries in the order the kernel gets them; copied, replacing any map set before
     * @return this
     * @throws IllegalArgumentException if there are more than 128 entries
     */
    public BootParams e820(List<E820Entry> entries) {
        if (entries.size() > MAX_E820) {
            throw new IllegalArgumentException(
                    "the zero page holds at most " + MAX_E820 + " e820 entries, got " + entries.size());
        }
        e820.clear();
        e820.addAll(entries);
        return this;
    }

    /**
     * Writes the zero page at {@code address} in {@code memory}.
     *
     * @param memory the guest memory to write into
     * @param address guest-physical, normally {@link X86Layout#ZERO_PAGE}; the boot vCPU's {@code rsi} must hold it
     * @throws GuestMemoryException if the page ({@code sizeof(struct boot_params)}, 4 KiB) is not all in guest memory;
     *     what comes before the gap may have been written
     */
    public void writeTo(GuestMemory memory, long address) throws GuestMemoryException {
        Objects.requireNonNull(memory, "memory");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(boot_params.layout()); // zeroed
            MemorySegment hdr = boot_params.hdr(params);
            setupHeader.ifPresent(header -> MemorySegment.copy(
                    header, 0, hdr, ValueLayout.JAVA_BYTE, 0, (int) Math.min(header.length, setup_header.sizeof())));
            if (setupHeader.isEmpty()) {
                setup_header.boot_flag(hdr, (short) 0xaa55);
                setup_header.header(hdr, 0x5372_6448); // "HdrS"
                setup_header.version(hdr, (short) 0x020c);
                setup_header.kernel_alignment(hdr, 0x100_0000);
            }
            setup_header.type_of_loader(hdr, LOADER_UNDEFINED);
            setup_header.cmd_line_ptr(hdr, (int) cmdlineAddress);
            setup_header.cmdline_size(hdr, cmdlineSize);
            setup_header.ramdisk_image(hdr, (int) initrdAddress);
            setup_header.ramdisk_size(hdr, (int) initrdSize);
            boot_params.ext_cmd_line_ptr(params, (int) (cmdlineAddress >>> 32));
            boot_params.ext_ramdisk_image(params, (int) (initrdAddress >>> 32));
            boot_params.ext_ramdisk_size(params, (int) (initrdSize >>> 32));
            boot_params.acpi_rsdp_addr(params, acpiRsdpAddress);
            boot_params.e820_entries(params, (byte) e820.size());
            for (int i = 0; i < e820.size(); i++) {
                MemorySegment entry =
                        boot_params.e820_table(params).asSlice(i * boot_e820_entry.sizeof(), boot_e820_entry.sizeof());
                boot_e820_entry.addr(entry, e820.get(i).address());
                boot_e820_entry.size(entry, e820.get(i).size());
                boot_e820_entry.type(entry, e820.get(i).type());
            }
            memory.writeFully(address, params);
        }
    }
}
