// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.sys.Libc;
import java.net.Inet4Address;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** Taps made, configured and adopted through ioctls, each in a network namespace of the test's own. */
class TapTest {
    @Test
    void aNewTapGetsItsAddressMacAndLinkStateThroughIoctls() throws Exception {
        try (NetworkNamespace namespace = NetworkNamespace.create()) {
            MacAddress hostMac = MacAddress.parse("02:00:00:00:00:01");
            try (Tap tap = namespace.inside(() -> {
                Tap made = Tap.create("vmm4jtap%d");
                made.setIpv4(ipv4("10.77.1.1"), ipv4("255.255.255.0"));
                made.setMacAddress(hostMac);
                made.up();
                return made;
            })) {
                assertEquals("vmm4jtap0", tap.name(), "the first free number");
                String link = namespace.exec("ip", "-o", "addr", "show", "dev", tap.name());
                assertTrue(link.contains("inet 10.77.1.1/24"), link);
                String details = namespace.exec("ip", "-o", "link", "show", "dev", tap.name());
                assertTrue(details.contains("link/ether " + hostMac), details);
                assertTrue(details.contains("<NO-CARRIER,BROADCAST,MULTICAST,UP>") || details.contains(",UP"), details);
                String flags = namespace.exec("cat", "/sys/class/net/" + tap.name() + "/tun_flags");
                int tunFlags = Integer.decode(flags.strip());
                int wanted = LinuxHeaders.IFF_TAP() | LinuxHeaders.IFF_NO_PI() | LinuxHeaders.IFF_VNET_HDR();
                assertEquals(wanted, tunFlags & wanted, "opened as crosvm opens its taps: " + flags);
            }
        }
    }

    @Test
    void aNameThatIsNotATapIsRefusedWithTheReason() throws Exception {
        try (NetworkNamespace namespace = NetworkNamespace.create()) {
            TapException e = assertThrows(TapException.class, () -> namespace.inside(() -> Tap.create("lo")));
            assertTrue(e.getMessage().contains("cannot make tap lo: TUNSETIFF failed"), e.getMessage());
            assertTrue(e.getMessage().contains("not a tap"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Tap.create("a-name-that-is-too-long"));
    }

    @Test
    void aNameAnotherHolderHasIsTaken() throws Exception {
        try (NetworkNamespace namespace = NetworkNamespace.create();
                Tap first = namespace.inside(() -> Tap.create("vmm4jtap%d"))) {
            TapException e = assertThrows(TapException.class, () -> namespace.inside(() -> Tap.create(first.name())));
            assertTrue(e.getMessage().contains("EBUSY"), e.getMessage());
            assertTrue(e.getMessage().contains("another process holds the tap with that name"), e.getMessage());
        }
    }

    @Test
    void anInheritedTapFdIsAdoptedOnlyIfItIsATapPassedOnPurpose() throws Exception {
        try (NetworkNamespace namespace = NetworkNamespace.create();
                Tap original = namespace.inside(() -> Tap.create("vmm4jtap%d"))) {
            // As a parent would pass it: an fd left open across exec.
            int inherited = Libc.fcntl(original.fd(), LinuxHeaders.F_DUPFD(), 0);
            try {
                TapException cloexec = assertThrows(TapException.class, () -> Tap.adopt(original.fd()));
                assertTrue(cloexec.getMessage().contains("close-on-exec"), cloexec.getMessage());
                try (Tap adopted = Tap.adopt(inherited)) {
                    assertEquals(original.name(), adopted.name());
                }
                assertTrue(Libc.fcntl(inherited, LinuxHeaders.F_GETFD(), 0) >= 0, "the inherited fd stays open");
            } finally {
                Libc.close(inherited);
            }
        }
        try (EventFd eventFd = EventFd.create()) {
            int inherited = Libc.fcntl(eventFd.fd(), LinuxHeaders.F_DUPFD(), 0);
            try {
                TapException notATap = assertThrows(TapException.class, () -> Tap.adopt(inherited));
                assertTrue(notATap.getMessage().contains("is not a tap: TUNGETIFF failed"), notATap.getMessage());
            } finally {
                Libc.close(inherited);
            }
        }
        TapException closed = assertThrows(TapException.class, () -> Tap.adopt(999_999));
        assertTrue(closed.getMessage().contains("not an open file descriptor"), closed.getMessage());
    }

    @Test
    void aFrameTheTapRefusesIsDroppedAndTheDeviceGoesOn() throws Exception {
        try (NetworkNamespace namespace = NetworkNamespace.create()) {
            Tap tap = namespace.inside(() -> {
                Tap made = Tap.create("vmm4jtap%d");
                made.up();
                return made;
            });
            try (DeviceHarness harness = DeviceHarness.create(new NetDevice(tap))) {
                DriverQueue tx = harness.activate().get(1);
                // Shorter than an Ethernet header: our checks pass it (the header is fine), the tap says EINVAL.
                byte[] runt = new byte[NetFeatures.HEADER_BYTES + 6];
                byte[] frame = new byte[NetFeatures.HEADER_BYTES + 60];
                java.util.Arrays.fill(frame, NetFeatures.HEADER_BYTES, frame.length, (byte) 0xff);
                for (byte[] bytes : new byte[][] {runt, frame}) {
                    long gpa = harness.allocate(bytes.length);
                    harness.memory().writeFully(gpa, bytes);
                    tx.addChain(DriverQueue.Buffer.readable(gpa, bytes.length));
                }
                harness.notifyQueue(1);
                harness.runUntilIdle();
                assertEquals(2, tx.usedIdx(), "both chains came back");
                NetStatistics statistics = ((NetDevice) harness.device()).statistics();
                assertEquals(1, statistics.txDropped(), statistics.toString());
                assertEquals(1, statistics.txFrames(), statistics.toString());
                assertEquals(0, harness.loopErrors());
            }
        }
    }

    static Inet4Address ipv4(String address) throws Exception {
        return (Inet4Address) InetAddress.getByName(address);
    }
}
