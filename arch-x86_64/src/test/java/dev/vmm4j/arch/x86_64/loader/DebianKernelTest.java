// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;

/** Debian's stock x86_64 kernel: a bzImage with an xz payload, parsed and loaded both ways. */
@RequiresTestKernel
class DebianKernelTest {
    @Test
    void hostSideDecompressionLoadsTheVmlinuxInside() throws Exception {
        try (GuestMemoryMmap memory =
                        GuestMemoryMmap.builder().anonymous(0, 256L << 20).build();
                Arena arena = Arena.ofConfined();
                FileChannel channel = FileChannel.open(TestKernel.path(), StandardOpenOption.READ)) {
            MemorySegment image = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            BzImage bz = BzImage.parse(image, "Debian kernel");
            assertTrue(bz.version() >= 0x020f, "boot protocol " + Integer.toHexString(bz.version()));
            assertEquals("xz", PayloadDecompressor.format(bz.payload()));
            assertEquals(0x100_0000L, bz.preferredAddress());

            LoadedKernel kernel = KernelLoader.load(TestKernel.path(), memory, KernelLoader.Decompression.HOST);
            assertEquals(0x100_0000L, kernel.start(), "vmlinux is linked at 16 MiB");
            assertTrue(kernel.entry() >= kernel.start() && kernel.entry() < kernel.end(), kernel.toString());
            byte[] loaded = new byte[(int) (kernel.end() - kernel.start())];
            memory.readFully(kernel.start(), loaded);
            String text = new String(loaded, StandardCharsets.ISO_8859_1);
            assertTrue(text.contains("Linux version 6.1"), "the banner is in the loaded kernel");
            assertEquals(bz.setupHeader().length, kernel.setupHeader().orElseThrow().length);
        }
    }

    @Test
    void protocolLoadNeedsRoomForTheDecompressor() throws Exception {
        try (GuestMemoryMmap memory =
                GuestMemoryMmap.builder().anonymous(0, 256L << 20).build()) {
            LoadedKernel kernel = KernelLoader.load(TestKernel.path(), memory, KernelLoader.Decompression.GUEST);
            assertEquals(0x100_0000L + 0x200, kernel.entry());
            assertTrue(kernel.end() - kernel.start() >= 32L << 20, "init_size reserves the decompression area");
        }
    }
}
