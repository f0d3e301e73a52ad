// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vhost;

import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** What VhostRings checks without a kernel worker; its rings are exercised by the vhost devices where the host has one. */
class VhostRingsTest {
    @Test
    void startRefusesNullArguments() {
        assertThrows(NullPointerException.class, () -> VhostRings.start(null, null, 2, 0));
    }
}
