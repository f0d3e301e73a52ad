// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block.qemu;

import dev.vmm4j.virtio.block.Qcow2Image;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;

/**
 * The process {@link Qcow2CrashTest} kills: writes to a qcow2 image for ever, each write's blocks stamped with the
 * write's number, and reports on stdout before each write ("S n", started) and after each completed flush ("F n":
 * writes up to n are durable).
 */
public final class Qcow2CrashWriter {
    static final int BLOCK = 4096;

    private Qcow2CrashWriter() {}

    /** Write number {@code n}'s first block and block count, from {@code seed}. */
    static int[] shape(long seed, long n, int blocks) {
        Random random = new Random(seed * 1_000_003L + n);
        int count = 1 + random.nextInt(random.nextInt(4) == 0 ? 48 : 4);
        int first = random.nextInt(blocks - count);
        return new int[] {first, count};
    }

    /** The bytes write {@code n} puts in block {@code block}: its number and the block's, then a filler. */
    static byte[] stamp(long n, int block) {
        ByteBuffer bytes = ByteBuffer.allocate(BLOCK);
        bytes.putLong(n).putInt(block);
        byte fill = (byte) (n * 31 + block);
        while (bytes.hasRemaining()) {
            bytes.put(fill);
        }
        return bytes.array();
    }

    /** Args: image, seed, first write number. */
    public static void main(String[] args) throws Exception {
        Path path = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        long n = Long.parseLong(args[2]);
        PrintStream out = System.out;
        try (Qcow2Image image = Qcow2Image.open(path, false)) {
            int blocks = (int) (image.sizeBytes() / BLOCK);
            out.println("READY");
            out.flush();
            for (; ; n++) {
                int[] shape = shape(seed, n, blocks);
                byte[] data = new byte[shape[1] * BLOCK];
                for (int b = 0; b < shape[1]; b++) {
                    System.arraycopy(stamp(n, shape[0] + b), 0, data, b * BLOCK, BLOCK);
                }
                out.println("S " + n);
                out.flush();
                image.write((long) shape[0] * BLOCK, MemorySegment.ofArray(data));
                if (n % 5 == 4) {
                    image.flush();
                    out.println("F " + n);
                    out.flush();
                }
            }
        }
    }
}
