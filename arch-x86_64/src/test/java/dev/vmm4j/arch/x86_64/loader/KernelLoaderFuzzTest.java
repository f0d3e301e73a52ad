// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.loader;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import java.lang.foreign.MemorySegment;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Corrupted kernels and initrds: valid images with random bytes overwritten (in the headers, where it matters most,
 * and anywhere), and random garbage. Loading either works or fails with {@link InvalidKernelException}; never any
 * other exception, and a successful load's entry lies in guest memory.
 */
class KernelLoaderFuzzTest {
    private static final byte[] ELF = TestImages.elf();
    private static final byte[] BZ_GZIP = TestImages.bzImage(TestImages.gzip(TestImages.elf()));
    private static final byte[] BZ_XZ = TestImages.bzImage(TestImages.xz(TestImages.elf()));

    record Mutation(int position, byte value, boolean inHeader) {}

    @Property(tries = 3000)
    void corruptedKernelsLoadOrFailCleanly(
            @ForAll @IntRange(min = 0, max = 2) int seed,
            @ForAll boolean host,
            @ForAll @Size(min = 1, max = 8) List<@IntRange(min = 0, max = Integer.MAX_VALUE) Integer> positions,
            @ForAll @Size(min = 8, max = 8) List<Byte> values,
            @ForAll boolean headerOnly) {
        byte[] image = (seed == 0 ? ELF : seed == 1 ? BZ_GZIP : BZ_XZ).clone();
        // Header-only mutations hit the ELF header and program headers, or the bzImage setup header.
        int from = headerOnly && seed != 0 ? 0x1f1 : 0;
        int to = headerOnly ? (seed == 0 ? 0xb0 : 0x270) : image.length;
        for (int i = 0; i < positions.size(); i++) {
            image[from + positions.get(i) % (to - from)] = values.get(i);
        }
        tryLoad(image, host);
    }

    @Property(tries = 1000)
    void garbageLoadsOrFailsCleanly(@ForAll @Size(max = 4096) byte[] garbage, @ForAll boolean host) {
        tryLoad(garbage, host);
    }

    @Property(tries = 1000)
    void truncatedImagesFailCleanly(
            @ForAll @IntRange(min = 0, max = 2) int seed,
            @ForAll @IntRange(min = 0, max = 100_000) int length,
            @ForAll boolean host) {
        byte[] image = seed == 0 ? ELF : seed == 1 ? BZ_GZIP : BZ_XZ;
        tryLoad(java.util.Arrays.copyOf(image, Math.min(length, image.length - 1)), host);
    }

    private static void tryLoad(byte[] image, boolean host) {
        try (GuestMemoryMmap memory =
                GuestMemoryMmap.builder().anonymous(0, 32L << 20).build()) {
            LoadedKernel kernel = KernelLoader.load(
                    MemorySegment.ofArray(image),
                    memory,
                    host ? KernelLoader.Decompression.HOST : KernelLoader.Decompression.GUEST,
                    "fuzzed kernel");
            assertTrue(memory.isValidRange(kernel.entry(), 1), "entry outside guest memory: " + kernel);
        } catch (InvalidKernelException e) {
            assertTrue(e.getMessage().startsWith("cannot") || e.getMessage().startsWith("the "), e.getMessage());
        }
    }
}
