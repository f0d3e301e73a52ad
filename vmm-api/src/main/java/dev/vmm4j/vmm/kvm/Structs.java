// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** Checks that a caller's segment can hold the C struct an ioctl reads or writes. */
final class Structs {
    private Structs() {}

    static void require(MemorySegment segment, MemoryLayout layout, String struct) {
        Objects.requireNonNull(segment, struct);
        if (!segment.isNative()) {
            throw new IllegalArgumentException(
                    struct + " must be in native memory (allocate it with an Arena), not on the heap");
        }
        if (segment.byteSize() < layout.byteSize()) {
            throw new IllegalArgumentException(
                    struct + " needs " + layout.byteSize() + " bytes, the segment has " + segment.byteSize());
        }
        if (segment.address() % layout.byteAlignment() != 0) {
            throw new IllegalArgumentException(struct + " must be aligned to " + layout.byteAlignment() + " bytes");
        }
    }
}
