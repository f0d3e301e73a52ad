// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.__sigset_t;
import dev.vmm4j.vmm.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The kick signal's sigset, which vmm4j writes itself rather than through libc. */
class KickSignalTest {
    @Test
    void theKickSetIsWhatLibcMakes() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment libc = arena.allocate(__sigset_t.layout());
            libc.fill((byte) 0x5a); // sigemptyset must clear it all
            assertEquals(0, LinuxHeaders.sigemptyset(libc));
            assertEquals(0, LinuxHeaders.sigaddset(libc, KickSignal.SIGNAL));
            MemorySegment ours = KickSignal.onlyKick(arena);
            // glibc uses (and sigemptyset clears) only the kernel's 64 signals of its 1024-bit set; ours is all zero
            // past them
            long kernel = Libc.KERNEL_SIGSET_BYTES;
            assertArrayEquals(
                    libc.asSlice(0, kernel).toArray(ValueLayout.JAVA_BYTE),
                    ours.asSlice(0, kernel).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(-1, ours.asSlice(kernel).mismatch(arena.allocate(ours.byteSize() - kernel)));
            assertEquals(1, LinuxHeaders.sigismember(ours, KickSignal.SIGNAL));
        }
    }

    @Test
    void theKernelMaskLeavesOnlyTheKickUnblocked() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = arena.allocate(__sigset_t.layout());
            mask.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, -1L);
            assertEquals(~(1L << (KickSignal.SIGNAL - 1)), KickSignal.kernelMaskWithKickUnblocked(mask));
        }
    }
}
