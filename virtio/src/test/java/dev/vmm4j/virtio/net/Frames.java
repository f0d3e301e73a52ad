// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Frames with their virtio-net header, as tests put them on a port or in guest memory. */
final class Frames {
    private Frames() {}

    /** {@return a zero header followed by {@code frameBytes} random bytes} */
    static byte[] withZeroHeader(SplittableRandom random, int frameBytes) {
        byte[] bytes = new byte[NetFeatures.HEADER_BYTES + frameBytes];
        byte[] frame = new byte[frameBytes];
        random.nextBytes(frame);
        System.arraycopy(frame, 0, bytes, NetFeatures.HEADER_BYTES, frameBytes);
        return bytes;
    }

    /** {@return the frame after its header} */
    static byte[] frame(byte[] headerAndFrame) {
        return Arrays.copyOfRange(headerAndFrame, NetFeatures.HEADER_BYTES, headerAndFrame.length);
    }
}
