// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vmm4j.kvm.bindings.boot_params;
import dev.vmm4j.kvm.bindings.kvm_segment;
import dev.vmm4j.kvm.bindings.setup_header;
import dev.vmm4j.vmm.kvm.Cpuid;
import dev.vmm4j.vmm.kvm.CpuidEntry;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BootStructuresTest {
    private final GuestMemoryMmap memory = GuestMemoryMmap.builder()
            .anonymous(0, 16L << 20)
            .anonymous(1L << 32, 1L << 20)
            .build();

    @AfterEach
    void close() {
        memory.close();
    }

    @Test
    void gdtEntriesDecodeToTheSegmentsLongModeNeeds() {
        assertEquals(0x00af_9b00_0000_ffffL, Gdt.ENTRIES[1], "the code entry crosvm writes");
        assertEquals(0x00cf_9300_0000_ffffL, Gdt.ENTRIES[2]);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment code = kvm_segment.allocate(arena);
            Gdt.toSegment(Gdt.ENTRIES[1], Gdt.CODE_SELECTOR, code);
            assertEquals(0xffff_ffff, kvm_segment.limit(code));
            assertEquals(1, kvm_segment.l(code));
            assertEquals(0, kvm_segment.db(code));
            assertEquals(11, kvm_segment.type(code));
            assertEquals(1, kvm_segment.present(code));
            MemorySegment data = kvm_segment.allocate(arena);
            Gdt.toSegment(Gdt.ENTRIES[2], Gdt.DATA_SELECTOR, data);
            assertEquals(0, kvm_segment.l(data));
            assertEquals(1, kvm_segment.db(data));
            assertEquals(3, kvm_segment.type(data));
            MemorySegment nul = kvm_segment.allocate(arena);
            Gdt.toSegment(0, 0, nul);
            assertEquals(1, kvm_segment.unusable(nul), "a not-present entry is unusable");
        }
    }

    @Test
    void zeroPageCarriesTheSetupHeaderCommandLineInitrdAndE820() throws GuestMemoryException {
        byte[] header = new byte[0x7b];
        header[0] = 27; // setup_sects
        List<BootParams.E820Entry> e820 = BootParams.e820For(memory);
        assertEquals(
                List.of(
                        new BootParams.E820Entry(0, 0x9fc00, BootParams.E820_RAM),
                        new BootParams.E820Entry(0x9fc00, 0x100000 - 0x9fc00, BootParams.E820_RESERVED),
                        new BootParams.E820Entry(0x100000, (16L << 20) - 0x100000, BootParams.E820_RAM),
                        new BootParams.E820Entry(1L << 32, 1L << 20, BootParams.E820_RAM)),
                e820);
        new BootParams()
                .setupHeader(header)
                .commandLine(X86Layout.CMDLINE, 42)
                .initrd(0xa0_0000, 0x1234)
                .e820(e820)
                .writeTo(memory, X86Layout.ZERO_PAGE);
        long hdr = X86Layout.ZERO_PAGE + boot_params.hdr$offset();
        assertEquals(27, memory.getByte(hdr + setup_header.setup_sects$offset()));
        assertEquals((byte) 0xff, memory.getByte(hdr + setup_header.type_of_loader$offset()));
        assertEquals((int) X86Layout.CMDLINE, memory.getInt(hdr + setup_header.cmd_line_ptr$offset()));
        assertEquals(42, memory.getInt(hdr + setup_header.cmdline_size$offset()));
        assertEquals(0xa0_0000, memory.getInt(hdr + setup_header.ramdisk_image$offset()));
        assertEquals(0x1234, memory.getInt(hdr + setup_header.ramdisk_size$offset()));
        assertEquals(4, memory.getByte(X86Layout.ZERO_PAGE + boot_params.e820_entries$offset()));
        long third = X86Layout.ZERO_PAGE + boot_params.e820_table$offset() + 3 * 20;
        assertEquals(1L << 32, memory.getLong(third));
        assertEquals(1L << 20, memory.getLong(third + 8));
        assertEquals(BootParams.E820_RAM, memory.getInt(third + 16));
        assertThrows(
                IllegalArgumentException.class, () -> new BootParams().e820(Collections.nCopies(129, e820.get(0))));
    }

    @Test
    void identityMapCoversTheFirstGibWithTwoMibPages() throws GuestMemoryException {
        assertEquals(X86Layout.PML4, PageTables.writeIdentityMap(memory));
        assertEquals(X86Layout.PDPT | 3, memory.getLong(X86Layout.PML4));
        assertEquals(X86Layout.PAGE_DIRECTORY | 3, memory.getLong(X86Layout.PDPT));
        assertEquals(0x83, memory.getLong(X86Layout.PAGE_DIRECTORY));
        assertEquals((511L << 21) | 0x83, memory.getLong(X86Layout.PAGE_DIRECTORY + 511 * 8));
    }

    @Test
    void cpuidGetsTheHypervisorBitApicIdsAndTheCustomisersChanges() {
        Cpuid supported = new Cpuid(List.of(
                new CpuidEntry(0, 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69),
                new CpuidEntry(1, 0, 0, 0x906ea, 0x0001_0800, CpuidFilter.ECX_CX16 | CpuidFilter.ECX_XSAVE, 1 << 28),
                new CpuidEntry(0xb, 0, CpuidEntry.FLAG_SIGNIFICANT_INDEX, 1, 1, 0x100, 0)));
        UnaryOperator<CpuidEntry> noCx16 = CpuidFilter.maskLeaf1Ecx(CpuidFilter.ECX_CX16);
        Cpuid vcpu3 = CpuidFilter.forVcpu(supported, 3, 4, noCx16);
        CpuidEntry leaf1 = vcpu3.find(1, 0).orElseThrow();
        assertEquals(3, leaf1.ebx() >>> 24, "initial APIC id");
        assertEquals(4, (leaf1.ebx() >>> 16) & 0xff, "logical processors");
        assertEquals(0x0800, leaf1.ebx() & 0xffff, "CLFLUSH size kept");
        assertEquals(CpuidFilter.ECX_HYPERVISOR | CpuidFilter.ECX_XSAVE, leaf1.ecx());
        assertEquals(3, vcpu3.find(0xb, 0).orElseThrow().edx(), "x2APIC id");
        assertEquals(
                0,
                CpuidFilter.forVcpu(supported, 0, 1, UnaryOperator.identity())
                                .find(1, 0)
                                .orElseThrow()
                                .edx()
                        & (1 << 28),
                "one vCPU: no HTT");
    }

    @Test
    void kvmsHypercallFeaturesAreHiddenWhenHypercallsDoNotComplete() {
        int features = 0x01ff_ffff; // every paravirtual feature KVM knows, and more
        Cpuid supported = new Cpuid(List.of(
                new CpuidEntry(0x4000_0000, 0, 0, 0x4000_0001, 0x4b4d564b, 0x564b4d56, 0x4d),
                new CpuidEntry(CpuidFilter.KVM_CPUID_FEATURES, 0, 0, features, 0, 0, 0x1)));
        CpuidEntry with = CpuidFilter.forVcpu(supported, 0, 2, false, UnaryOperator.identity())
                .find(CpuidFilter.KVM_CPUID_FEATURES, 0)
                .orElseThrow();
        assertEquals(features, with.eax(), "hypercalls work: everything is offered");
        CpuidEntry without = CpuidFilter.forVcpu(supported, 0, 2, true, UnaryOperator.identity())
                .find(CpuidFilter.KVM_CPUID_FEATURES, 0)
                .orElseThrow();
        // PV_UNHALT 7, PV_SEND_IPI 11, PV_SCHED_YIELD 13, HC_MAP_GPA_RANGE 16; kvmclock (0, 3), steal time (5), PV EOI
        // (6) and PV TLB flush (9) need no hypercall and stay.
        assertEquals(features & ~((1 << 7) | (1 << 11) | (1 << 13) | (1 << 16)), without.eax());
        assertEquals(0x1, without.edx(), "the hints are kept");
    }
}
