// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;

/**
 * The virtio-net configuration space (virtio 1.2, 5.1.4) as vmm4j's devices present it: the MAC address when there
 * is one; no link status, queue pairs or MTU (their features are not offered), so the rest reads as zero.
 */
final class NetConfigSpace {
    private static final int SIZE = 12; // mac[6], status, max_virtqueue_pairs, mtu

    private final MemorySegment bytes = MemorySegment.ofArray(new byte[SIZE]);
    private final Optional<MacAddress> mac;

    NetConfigSpace(Optional<MacAddress> mac) {
        this.mac = mac;
        mac.ifPresent(address -> MemorySegment.copy(address.bytes(), 0, bytes, ValueLayout.JAVA_BYTE, 0, 6));
    }

    Optional<MacAddress> mac() {
        return mac;
    }

    long features() {
        return NetFeatures.offered(mac.isPresent());
    }

    void read(long offset, MemorySegment data) {
        data.fill((byte) 0);
        if (offset >= 0 && offset < SIZE) {
            MemorySegment.copy(bytes, offset, data, 0, Math.min(data.byteSize(), SIZE - offset));
        }
    }
}
