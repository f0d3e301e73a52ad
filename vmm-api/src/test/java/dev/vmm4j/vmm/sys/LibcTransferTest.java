// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pread and pwrite by region offset: they move bytes straight between a file and guest memory, and refuse memory that
 * was already unmapped (a raw address would not keep it mapped; a late transfer could land in whatever is mapped there
 * next).
 */
class LibcTransferTest {
    @TempDir
    Path dir;

    @Test
    void transfersByRegionOffsetMoveTheBytes() throws Exception {
        Path file = Files.write(dir.resolve("data"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        try (GuestMemoryMmap memory =
                GuestMemoryMmap.builder().anonymous(0, 1 << 20).build()) {
            MemorySegment region = memory.regions().getFirst().memory();
            int fd = Libc.open(file.toString(), LinuxHeaders.O_RDWR(), "test data");
            try {
                assertEquals(4, Libc.pread(fd, region, 0x1000, 4, 2));
                assertEquals(0x06050403, region.get(ValueLayout.JAVA_INT_UNALIGNED, 0x1000));
                assertEquals(4, Libc.pwrite(fd, region, 0x1000, 4, 0));
                assertEquals(3, Files.readAllBytes(file)[0]);
                assertThrows(IndexOutOfBoundsException.class, () -> Libc.pread(fd, region, (1 << 20) - 2, 4, 0));
            } finally {
                Libc.close(fd);
            }
        }
    }

    @Test
    void aTransferIntoUnmappedMemoryIsRefusedNotAttempted() throws Exception {
        Path file = Files.write(dir.resolve("data"), new byte[4096]);
        GuestMemoryMmap memory = GuestMemoryMmap.builder().anonymous(0, 1 << 20).build();
        MemorySegment region = memory.regions().getFirst().memory();
        memory.close();
        int fd = Libc.open(file.toString(), LinuxHeaders.O_RDWR(), "test data");
        try {
            IllegalStateException read =
                    assertThrows(IllegalStateException.class, () -> Libc.pread(fd, region, 0, 4096, 0));
            assertTrue(
                    read.getMessage().startsWith("the memory of a transfer was already unmapped"), read.getMessage());
            assertThrows(IllegalStateException.class, () -> Libc.pwrite(fd, region, 0, 4096, 0));
        } finally {
            Libc.close(fd);
        }
    }
}
