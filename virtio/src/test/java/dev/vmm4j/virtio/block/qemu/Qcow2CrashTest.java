// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block.qemu;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmm4j.virtio.block.Qcow2Image;
import dev.vmm4j.vmm.testing.ExternalCommand;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer process is killed with SIGKILL at random moments, round after round on the same image: each time,
 * {@code qemu-img check} finds no corruption (leaked clusters are allowed: that is what a crash between allocating and
 * using a cluster leaves), and every block holds the last write to it that a completed flush covered, or a write that
 * started after that flush. Nothing acknowledged is lost; nothing reads as a mix of two writes.
 */
@RequiresQemuImg
class Qcow2CrashTest {
    private static final int SIZE = 16 << 20;
    private static final int BLOCKS = SIZE / Qcow2CrashWriter.BLOCK;
    private static final int ROUNDS = 6;

    @TempDir
    Path dir;

    @Test
    void killedWritersLeaveConsistentImagesAndLoseNothingFlushed() throws Exception {
        Path image = dir.resolve("crash.qcow2");
        Qcow2Image.create(image, SIZE, null, null);
        long[] durable = new long[BLOCKS]; // per block, the write number it holds (-1: never written)
        Arrays.fill(durable, -1);
        long seed = 42;
        long next = 0;
        Random timing = new Random(seed);
        for (int round = 0; round < ROUNDS; round++) {
            long first = next;
            Process writer = new ProcessBuilder(
                            ProcessHandle.current().info().command().orElse("java"),
                            "--enable-native-access=ALL-UNNAMED",
                            "-cp",
                            System.getProperty("java.class.path"),
                            Qcow2CrashWriter.class.getName(),
                            image.toString(),
                            Long.toString(seed),
                            Long.toString(first))
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            List<String> lines = new ArrayList<>();
            BufferedReader out =
                    new BufferedReader(new InputStreamReader(writer.getInputStream(), StandardCharsets.US_ASCII));
            String ready = out.readLine();
            if (!"READY".equals(ready)) {
                writer.destroyForcibly();
                fail("the writer did not start: " + ready);
            }
            Thread reader = Thread.ofPlatform().start(() -> {
                try {
                    for (String line; (line = out.readLine()) != null; ) {
                        synchronized (lines) {
                            lines.add(line);
                        }
                    }
                } catch (IOException e) {
                    // the pipe closes when the writer dies
                }
            });
            Thread.sleep(30 + timing.nextInt(400));
            writer.toHandle()
                    .destroyForcibly(); // SIGKILL, through the handle: Process.destroy* would close our end of its
            // stdout
            writer.waitFor(30, TimeUnit.SECONDS);
            reader.join();

            long flushed = first - 1;
            long started = first - 1;
            for (String line : lines) {
                long n = Long.parseLong(line.substring(2));
                if (line.startsWith("F ")) {
                    flushed = n;
                } else {
                    started = n;
                }
            }
            assertTrue(started >= first, "round " + round + ": the writer wrote nothing before it was killed");

            ExternalCommand.Result check = QemuImg.img("check", image);
            if (check.status() != 0 && check.status() != 3) { // 3: leaked clusters only
                fail("round " + round + ": qemu-img check found corruption (status " + check.status() + "):\n"
                        + check.out() + check.err());
            }
            verify(image, durable, seed, first, flushed, started, round);
            next = started + 1;
        }
    }

    /** Checks every block against what the writes up to {@code started} allow, then takes what it found as durable. */
    private static void verify(Path image, long[] durable, long seed, long first, long flushed, long started, int round)
            throws IOException {
        long[] mustHold = durable.clone();
        List<List<Long>> mayHold = new ArrayList<>();
        for (int b = 0; b < BLOCKS; b++) {
            mayHold.add(new ArrayList<>());
        }
        for (long n = first; n <= started; n++) {
            int[] shape = Qcow2CrashWriter.shape(seed, n, BLOCKS);
            for (int b = shape[0]; b < shape[0] + shape[1]; b++) {
                if (n <= flushed) {
                    mustHold[b] = n;
                } else {
                    mayHold.get(b).add(n);
                }
            }
        }
        byte[] block = new byte[Qcow2CrashWriter.BLOCK];
        try (Qcow2Image opened = Qcow2Image.open(image, false)) {
            for (int b = 0; b < BLOCKS; b++) {
                opened.read((long) b * block.length, MemorySegment.ofArray(block));
                long holds = ByteBuffer.wrap(block).getLong();
                boolean zeros = Arrays.equals(block, new byte[block.length]);
                long found = zeros ? -1 : holds;
                if (found != mustHold[b] && !mayHold.get(b).contains(found)) {
                    List<Long> touching = new ArrayList<>();
                    for (long n = first; n <= started + 20; n++) {
                        int[] shape = Qcow2CrashWriter.shape(seed, n, BLOCKS);
                        if (b >= shape[0] && b < shape[0] + shape[1]) {
                            touching.add(n);
                        }
                    }
                    fail(String.format(
                            "round %d: block %d holds write %d; it must hold %d (writes %d..%d started, flushed through"
                                    + " %d) or one of %s; writes touching it from %d: %s",
                            round, b, found, mustHold[b], first, started, flushed, mayHold.get(b), first, touching));
                }
                if (!zeros && !Arrays.equals(block, Qcow2CrashWriter.stamp(found, b))) {
                    fail("round " + round + ": block " + b + " is torn: not write " + found + "'s bytes");
                }
                durable[b] = found;
            }
            opened.flush(); // what was found is the next round's starting point
        }
    }
}
