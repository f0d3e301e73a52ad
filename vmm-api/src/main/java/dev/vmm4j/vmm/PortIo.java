// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.kvm.VcpuExit;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Sends a vCPU's port I/O exits to the I/O bus, one bus access per item. A string instruction ({@code rep outsb},
 * {@code rep insw}, ...) exits once with {@code count} items of {@code size} bytes laid out one after the other at
 * {@code data_offset}; the device sees {@code count} accesses of {@code size} bytes each, in order, as the guest made
 * them. Each item goes through a preallocated buffer, so nothing is allocated per access.
 *
 * <p><b>Thread safety:</b> vCPU-thread confined (one per vCPU).
 */
final class PortIo {
    private final Bus bus;
    /** One access's bytes, by size (1, 2 or 4), for the items of a string instruction. */
    private final MemorySegment[] accesses = new MemorySegment[5];

    PortIo(Bus bus) {
        this.bus = bus;
        MemorySegment buffer = Arena.ofAuto().allocate(8, 8);
        for (int size : new int[] {1, 2, 4}) {
            accesses[size] = buffer.asSlice(0, size);
        }
    }

    /**
     * Sends the guest's writes to the bus, one call per item.
     *
     * @throws dev.vmm4j.vmm.kvm.KvmException if KVM reported a size other than 1, 2 or 4, or data outside the
     *     {@code kvm_run} mapping (see {@link VcpuExit.IoOut#data()})
     */
    void out(VcpuExit.IoOut out) {
        MemorySegment data = out.data(); // checks the size and that size * count bytes lie within kvm_run
        int size = out.size();
        if (data.byteSize() == size) {
            bus.write(out.port(), data);
            return;
        }
        MemorySegment access = accesses[size];
        for (long at = 0; at < data.byteSize(); at += size) {
            MemorySegment.copy(data, at, access, 0, size);
            bus.write(out.port(), access);
        }
    }

    /**
     * Answers the guest's reads from the bus, one call per item, each filling its own item; a port no device holds
     * reads all ones.
     *
     * @throws dev.vmm4j.vmm.kvm.KvmException if KVM reported a size other than 1, 2 or 4, or data outside the
     *     {@code kvm_run} mapping (see {@link VcpuExit.IoIn#data()})
     */
    void in(VcpuExit.IoIn in) {
        MemorySegment data = in.data(); // checks the size and that size * count bytes lie within kvm_run
        int size = in.size();
        if (data.byteSize() == size) {
            if (!bus.read(in.port(), data)) {
                data.fill((byte) 0xff); // nothing at that port: an open bus reads all ones
            }
            return;
        }
        MemorySegment access = accesses[size];
        for (long at = 0; at < data.byteSize(); at += size) {
            MemorySegment.copy(data, at, access, 0, size); // what a device leaves unwritten reaches the guest as it was
            if (!bus.read(in.port(), access)) {
                access.fill((byte) 0xff);
            }
            MemorySegment.copy(access, 0, data, at, size);
        }
    }
}
