// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.testing.DriverQueue.Buffer;
import dev.vmm4j.virtio.testing.FrameSocketPair;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * A hostile driver and a hostile host network against virtio-net: random chains (directions, sizes, addresses outside
 * memory, headers with garbage gso_type, hdr_len and checksum offsets), random frames from the host (runts, jumbo,
 * bursts), random notifications and resets. Whatever happens: no exception escapes the device, it never writes
 * outside a receive chain's device-writable buffers (guards after every buffer, and the transmit buffers, keep their
 * bytes), every frame the guest receives is one the host sent, whole and in order, and every frame the host receives
 * is one the guest sent, whole and in order.
 */
class HostileNetPropertyTest {
    private static final int RX = 0;
    private static final int TX = 1;
    private static final int GUARD = 64;
    private static final byte PATTERN = (byte) 0xa5;

    /** A buffer the test placed, what it held, and whether the device may write it (a receive chain's writable one). */
    private record Placed(long gpa, int length, boolean writable, boolean mayBeWritten, byte[] contents) {}

    @Property(tries = 1_000)
    void theDeviceStaysInsideTheGuestsBuffersAndDeliversOnlyWholeFrames(@ForAll long seed) throws Exception {
        SplittableRandom random = new SplittableRandom(seed);
        try (FrameSocketPair pair = FrameSocketPair.create();
                DeviceHarness harness = DeviceHarness.create(new NetDevice(pair.devicePort()), 32L << 20)) {
            long features = harness.offeredFeatures() & (random.nextLong() | 1L << 32);
            List<DriverQueue> queues = harness.activate(features, 0);
            List<Placed> placed = new ArrayList<>();
            Map<Integer, List<Placed>> rxChains = new HashMap<>();
            Deque<byte[]> hostSent = new ArrayDeque<>();
            List<byte[]> guestSent = new ArrayList<>();
            int rxSeen = 0;
            for (int step = 0; step < 40; step++) {
                switch (random.nextInt(7)) {
                    case 0, 1 -> {
                        List<Placed> chain = chain(harness, random, placed, true);
                        int head = queues.get(RX).addChain(buffers(chain));
                        rxChains.put(head, chain);
                        harness.notifyQueue(RX);
                    }
                    case 2, 3 -> {
                        List<Placed> chain = chain(harness, random, placed, false);
                        queues.get(TX).addChain(buffers(chain));
                        guestSent.add(readableBytes(harness, chain));
                        harness.notifyQueue(TX);
                    }
                    case 4 -> {
                        for (int burst = random.nextInt(1, 8); burst > 0; burst--) {
                            byte[] frame = hostFrame(random);
                            if (pair.sendToGuest(frame)) {
                                hostSent.add(frame);
                            }
                        }
                    }
                    case 5 -> {
                        byte[] frame;
                        while ((frame = pair.receiveFromGuest()) != null) {
                            assertSentInOrder(guestSent, frame);
                        }
                    }
                    default -> {
                        if (random.nextInt(8) == 0) {
                            queues = harness.activate(harness.offeredFeatures() & (random.nextLong() | 1L << 32), 0);
                            rxChains.clear();
                            rxSeen = 0;
                        }
                    }
                }
                harness.runUntilIdle();
                DriverQueue rx = queues.get(RX);
                for (; rxSeen < rx.usedIdx(); rxSeen++) {
                    DriverQueue.UsedElement used = rx.used(rxSeen);
                    List<Placed> chain = rxChains.get(used.id());
                    if (used.length() > 0) {
                        byte[] got = writableBytes(harness, chain, (int) used.length());
                        assertReceivedInOrder(hostSent, got);
                    }
                }
            }
            assertEquals(0, harness.loopErrors());
            for (Placed buffer : placed) {
                byte[] after = new byte[buffer.length() + GUARD];
                harness.memory().readFully(buffer.gpa(), after);
                byte[] guard = Arrays.copyOfRange(after, buffer.length(), after.length);
                assertArrayEquals(filled(GUARD), guard, "the guard after " + buffer + " changed");
                if (!buffer.mayBeWritten()) {
                    assertArrayEquals(
                            buffer.contents(),
                            Arrays.copyOf(after, buffer.length()),
                            buffer + " is not the device's to write");
                }
            }
        }
    }

    /** Places 1 to 4 buffers (sometimes outside guest memory, sometimes in the wrong direction) with guards after. */
    private static List<Placed> chain(DeviceHarness harness, SplittableRandom random, List<Placed> placed, boolean rx)
            throws Exception {
        List<Placed> chain = new ArrayList<>();
        int count = random.nextInt(1, 5);
        for (int i = 0; i < count; i++) {
            int length = switch (random.nextInt(6)) {
                case 0 -> random.nextInt(NetFeatures.HEADER_BYTES + 1);
                case 1 -> random.nextInt(60_000, 70_000);
                default -> random.nextInt(2_000);
            };
            boolean writable = rx ? random.nextInt(10) != 0 : random.nextInt(10) == 0;
            if (random.nextInt(25) == 0) {
                chain.add(new Placed(harness.memory().totalSize() - 8, length + 16, writable, false, null)); // outside
                continue;
            }
            long gpa = harness.allocate(length + GUARD);
            byte[] bytes = filled(length + GUARD);
            if (!rx) {
                byte[] data = new byte[length];
                random.nextBytes(data);
                if (length >= NetFeatures.HEADER_BYTES && random.nextBoolean()) {
                    Arrays.fill(data, 0, NetFeatures.HEADER_BYTES, (byte) 0); // a plain frame the port takes
                }
                System.arraycopy(data, 0, bytes, 0, length);
            }
            harness.memory().writeFully(gpa, bytes);
            Placed buffer = new Placed(gpa, length, writable, rx && writable, Arrays.copyOf(bytes, length));
            chain.add(buffer);
            placed.add(buffer);
        }
        chain.sort((a, b) -> Boolean.compare(a.writable(), b.writable())); // mostly well-formed: readable first
        if (random.nextInt(10) == 0) {
            java.util.Collections.reverse(chain);
        }
        return chain;
    }

    private static Buffer[] buffers(List<Placed> chain) {
        return chain.stream()
                .map(p -> p.writable() ? Buffer.writable(p.gpa(), p.length()) : Buffer.readable(p.gpa(), p.length()))
                .toArray(Buffer[]::new);
    }

    private static byte[] hostFrame(SplittableRandom random) {
        int length = switch (random.nextInt(8)) {
            case 0 -> random.nextInt(1, NetFeatures.HEADER_BYTES); // a runt (an empty record would mean the end)
            case 1 -> random.nextInt(2_000, 66_000);
            default -> random.nextInt(NetFeatures.HEADER_BYTES, 1_600);
        };
        byte[] frame = new byte[length];
        random.nextBytes(frame);
        return frame;
    }

    private static byte[] readableBytes(DeviceHarness harness, List<Placed> chain) throws Exception {
        var out = new java.io.ByteArrayOutputStream();
        for (Placed buffer : chain) {
            if (!buffer.writable() && harness.memory().isValidRange(buffer.gpa(), buffer.length())) {
                byte[] bytes = new byte[buffer.length()];
                harness.memory().readFully(buffer.gpa(), bytes);
                out.write(bytes);
            }
        }
        return out.toByteArray();
    }

    private static byte[] writableBytes(DeviceHarness harness, List<Placed> chain, int length) throws Exception {
        byte[] out = new byte[length];
        int done = 0;
        for (Placed buffer : chain) {
            if (buffer.writable() && done < length) {
                int n = Math.min(buffer.length(), length - done);
                byte[] bytes = new byte[n];
                harness.memory().readFully(buffer.gpa(), bytes);
                System.arraycopy(bytes, 0, out, done, n);
                done += n;
            }
        }
        assertEquals(length, done, "the used length is more than the chain's writable buffers hold");
        return out;
    }

    /** The frame must be the next of the host's (frames too large or too short for the guest's buffers are lost). */
    private static void assertReceivedInOrder(Deque<byte[]> hostSent, byte[] got) {
        assertTrue(got.length >= NetFeatures.HEADER_BYTES, "a frame shorter than a header was delivered");
        assertEquals(1, got[10] | (got[11] << 8), "num_buffers");
        while (!hostSent.isEmpty()) {
            byte[] candidate = hostSent.poll();
            byte[] expected = candidate.clone();
            if (expected.length >= NetFeatures.HEADER_BYTES) {
                expected[10] = 1;
                expected[11] = 0;
            }
            if (Arrays.equals(expected, got)) {
                return;
            }
        }
        throw new AssertionError("the guest received a frame the host never sent (or out of order)");
    }

    private static void assertSentInOrder(List<byte[]> guestSent, byte[] frame) {
        while (!guestSent.isEmpty()) {
            if (Arrays.equals(guestSent.removeFirst(), frame)) {
                return;
            }
        }
        throw new AssertionError("the host received a frame the guest never sent (or out of order)");
    }

    private static byte[] filled(int length) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, PATTERN);
        return bytes;
    }
}
