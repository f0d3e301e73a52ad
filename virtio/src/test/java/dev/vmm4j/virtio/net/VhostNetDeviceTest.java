// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What the vhost-net device does where it can be checked without the kernel's vhost-net. */
class VhostNetDeviceTest {
    @Test
    void refusesNullsBeforeOpeningAnything() {
        assertThrows(NullPointerException.class, () -> VhostNetDevice.open(null, Optional.empty()));
    }

    @Test
    void withoutDevVhostNetItSaysSoAndClosesTheTap() throws Exception {
        assumeTrue(!Files.exists(VhostNetDevice.VHOST_NET), "this host has /dev/vhost-net: nothing to refuse");
        try (NetworkNamespace namespace = NetworkNamespace.create()) {
            Tap tap = namespace.inside(() -> Tap.create("vmm4jtap%d"));
            IOException e = assertThrows(IOException.class, () -> VhostNetDevice.open(tap, Optional.empty()));
            assertTrue(e.getMessage().startsWith("/dev/vhost-net does not exist"), e.getMessage());
            assertThrows(IllegalStateException.class, tap::fd, "the device owns the tap, also when it fails");
            assertThrows(NullPointerException.class, () -> VhostNetDevice.open(tap, null));
        }
    }
}
