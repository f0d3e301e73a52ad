// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The fixed-size messages a {@link BusProxy} and its {@link BusProxyServer} exchange, one request and one reply at a
 * time: 24 bytes each, little-endian.
 *
 * <pre>
 * request: [0] op (READ, WRITE, CONTROL) [1] length 1..8 (READ/WRITE) [2..3] sequence [4..7] control selector
 *          [8..15] offset (READ/WRITE) or control argument [16..23] data (WRITE)
 * reply:   [0] OK or FAILED [2..3] the request's sequence [16..23] data (READ) or control result
 * </pre>
 */
final class ProxyMessages {
    static final int SIZE = 24;
    static final byte READ = 1;
    static final byte WRITE = 2;
    static final byte CONTROL = 3;
    static final byte OK = 1;
    static final byte FAILED = 2;
    static final int MAX_ACCESS = 8;

    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static final long OP = 0;
    static final long LENGTH = 1;
    static final long SEQUENCE = 2;
    static final long SELECTOR = 4;
    static final long ARGUMENT = 8;
    static final long DATA = 16;

    private ProxyMessages() {}

    static byte op(MemorySegment message) {
        return message.get(ValueLayout.JAVA_BYTE, OP);
    }
}
