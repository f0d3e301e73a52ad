// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import dev.vmm4j.kvm.bindings.kvm_cpuid2;
import dev.vmm4j.kvm.bindings.kvm_cpuid_entry2;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * A CPUID table: what {@link Kvm#supportedCpuid()} reports and {@link Vcpu#setCpuid(Cpuid)} gives a vCPU.
 * Immutable; {@link #map} makes a changed copy.
 *
 * @param entries the leaves, in the order KVM gets them; copied, at most {@link #MAX_ENTRIES}, no nulls
 */
public record Cpuid(List<CpuidEntry> entries) {
    /** The most entries KVM accepts in {@code KVM_SET_CPUID2} ({@code KVM_MAX_CPUID_ENTRIES}). */
    public static final int MAX_ENTRIES = 256;

    /**
     * Copies {@code entries} and checks their number.
     *
     * @throws IllegalArgumentException if there are more than {@link #MAX_ENTRIES}
     * @throws NullPointerException if {@code entries} or one of them is null
     */
    public Cpuid {
        entries = List.copyOf(entries);
        if (entries.size() > MAX_ENTRIES) {
            throw new IllegalArgumentException(
                    "a CPUID table holds at most " + MAX_ENTRIES + " entries, got " + entries.size());
        }
    }

    /**
     * {@return the entry that answers CPUID with EAX = {@code function} and ECX = {@code index}} The first match
     * wins; empty if no leaf matches.
     *
     * @param function the leaf (EAX), such as {@code 0x8000_0001}
     * @param index the subleaf (ECX); ignored for leaves that are not {@linkplain CpuidEntry#isIndexed() indexed}
     */
    public Optional<CpuidEntry> find(int function, int index) {
        return entries.stream().filter(e -> e.matches(function, index)).findFirst();
    }

    /**
     * {@return a copy in which every entry went through {@code change}}
     *
     * @param change called once per entry, in order; returns the entry to keep (the same one to leave it as it is),
     *     never null
     */
    public Cpuid map(UnaryOperator<CpuidEntry> change) {
        Objects.requireNonNull(change, "change");
        return new Cpuid(entries.stream().map(change).toList());
    }

    /** {@return this table as a {@code struct kvm_cpuid2} allocated in {@code arena}} */
    MemorySegment toStruct(Arena arena) {
        MemorySegment struct = allocateStruct(arena, entries.size());
        kvm_cpuid2.nent(struct, entries.size());
        for (int i = 0; i < entries.size(); i++) {
            CpuidEntry e = entries.get(i);
            MemorySegment entry = entry(struct, i);
            kvm_cpuid_entry2.function(entry, e.function());
            kvm_cpuid_entry2.index(entry, e.index());
            kvm_cpuid_entry2.flags(entry, e.flags());
            kvm_cpuid_entry2.eax(entry, e.eax());
            kvm_cpuid_entry2.ebx(entry, e.ebx());
            kvm_cpuid_entry2.ecx(entry, e.ecx());
            kvm_cpuid_entry2.edx(entry, e.edx());
        }
        return struct;
    }

    /** {@return the table {@code ioctl} (a CPUID getter) fills in on {@code fd}, with room for {@link #MAX_ENTRIES}} */
    static Cpuid query(KvmIoctl ioctl, int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment struct = allocateStruct(arena, MAX_ENTRIES);
            kvm_cpuid2.nent(struct, MAX_ENTRIES);
            ioctl.call(fd, struct);
            return fromStruct(struct);
        }
    }

    /** {@return the table in a {@code struct kvm_cpuid2} that KVM filled in} */
    static Cpuid fromStruct(MemorySegment struct) {
        int count = kvm_cpuid2.nent(struct);
        CpuidEntry[] entries = new CpuidEntry[count];
        for (int i = 0; i < count; i++) {
            MemorySegment e = entry(struct, i);
            entries[i] = new CpuidEntry(
                    kvm_cpuid_entry2.function(e),
                    kvm_cpuid_entry2.index(e),
                    kvm_cpuid_entry2.flags(e),
                    kvm_cpuid_entry2.eax(e),
                    kvm_cpuid_entry2.ebx(e),
                    kvm_cpuid_entry2.ecx(e),
                    kvm_cpuid_entry2.edx(e));
        }
        return new Cpuid(List.of(entries));
    }

    static MemorySegment allocateStruct(Arena arena, int capacity) {
        return arena.allocate(
                kvm_cpuid2.entries$offset() + capacity * kvm_cpuid_entry2.sizeof(),
                kvm_cpuid2.layout().byteAlignment());
    }

    private static MemorySegment entry(MemorySegment struct, int i) {
        return struct.asSlice(kvm_cpuid2.entries$offset() + i * kvm_cpuid_entry2.sizeof(), kvm_cpuid_entry2.layout());
    }
}
