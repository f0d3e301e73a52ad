// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vmm4j.guests.Guests;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.VmBuildException;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * virtio-net end to end on /dev/kvm: the guest kit's polling driver ARPs for the host's address on a tap in a network
 * namespace of the test's own and pings it, and the host kernel answers both through vmm4j's device.
 */
@RequiresKvm
class NetVmTest {
    private static final MacAddress GUEST_MAC = MacAddress.parse("52:54:00:12:34:56");

    @TempDir
    Path dir;

    @Test
    void theGuestArpsAndPingsTheHostThroughATap() throws Exception {
        pingTheHost(false, false);
    }

    @Test
    void theGuestArpsAndPingsTheHostThroughADeviceInAJailedProcess() throws Exception {
        pingTheHost(false, true);
    }

    @Test
    void theGuestArpsAndPingsTheHostThroughVhostNet() throws Exception {
        assumeTrue(
                Files.exists(VhostNetDevice.VHOST_NET),
                "this host has no /dev/vhost-net (its kernel lacks vhost_net): the kernel backend cannot run here");
        pingTheHost(true, false);
    }

    private void pingTheHost(boolean vhost, boolean sandboxed) throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Path guest = Files.write(dir.resolve("net_ping.elf"), Guests.NET_PING.elf());
        try (NetworkNamespace namespace = NetworkNamespace.create()) {
            Tap tap = namespace.inside(() -> {
                Tap made = Tap.create("vmm4jtap%d");
                made.setIpv4(TapTest.ipv4("10.77.2.1"), TapTest.ipv4("255.255.255.0"));
                made.up();
                return made;
            });
            String hostMac = namespace
                    .exec("cat", "/sys/class/net/" + tap.name() + "/address")
                    .strip();
            VirtioMmio net =
                    VirtioDevices.net(NetConfig.of(tap).withMac(GUEST_MAC).withVhost(vhost));
            VirtualMachineBuilder builder = VirtualMachine.builder();
            if (sandboxed) {
                builder.sandbox(DeviceSandbox.bubblewrap());
            }
            try (VirtualMachine vm = builder.memory(VirtualMachineBuilder.MiB(64))
                    .kernel(guest)
                    .cmdline("net.ip=10.77.2.2 net.host=10.77.2.1")
                    .serial(console)
                    .device(net)
                    .build()) {
                assertInstanceOf(ExitStatus.GuestReset.class, vm.run(), console.toString());
                String out = console.toString();
                assertTrue(out.contains("net: mac 52:54:00:12:34:56 (from the device)"), out);
                assertTrue(out.contains("net: arp reply from 10.77.2.1 is-at " + hostMac), out);
                for (int seq = 1; seq <= 3; seq++) {
                    assertTrue(out.contains("net: ping seq " + seq + " reply from 10.77.2.1 ttl 64 bytes 64"), out);
                }
                assertTrue(out.contains("net: done"), out);
                assertTrue(!out.contains("FAIL"), out);
                if (sandboxed) {
                    assertTrue(net.jailed().isPresent(), "the device ran in a device process");
                    return; // its statistics are in that process
                }
                assertEquals(
                        vhost ? VhostNetDevice.class : NetDevice.class,
                        net.device().getClass());
                if (net.device() instanceof NetDevice device) {
                    NetStatistics statistics = device.statistics();
                    assertTrue(statistics.txFrames() >= 4, statistics.toString());
                    assertTrue(statistics.rxFrames() >= 4, statistics.toString());
                    assertEquals(0, statistics.malformedChains(), statistics.toString());
                }
            }
        }
    }

    @Test
    void vhostNetWhereTheHostHasNoneFailsTheBuildWithTheReason() throws Exception {
        assumeTrue(!Files.exists(VhostNetDevice.VHOST_NET), "this host has /dev/vhost-net: nothing to refuse");
        VmBuildException e = assertThrows(
                VmBuildException.class,
                () -> VirtualMachine.builder()
                        .kernel(Files.write(dir.resolve("hello.elf"), Guests.HELLO.elf()))
                        .device(VirtioDevices.net(
                                NetConfig.newTap(TapTest.ipv4("10.77.3.1"), TapTest.ipv4("255.255.255.0"))
                                        .withVhost(true)))
                        .build());
        assertTrue(e.getMessage().contains("vhost-net needs /dev/vhost-net"), e.getMessage());
    }
}
