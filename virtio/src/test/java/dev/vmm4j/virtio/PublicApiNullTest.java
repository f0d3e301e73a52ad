// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.common.testing.NullPointerTester;
import dev.vmm4j.virtio.balloon.BalloonPolicy;
import dev.vmm4j.virtio.jail.DeviceRecipe;
import dev.vmm4j.virtio.jail.EntropyFactory;
import dev.vmm4j.virtio.net.NetConfig;
import dev.vmm4j.virtio.queue.SplitQueue;
import dev.vmm4j.virtio.testing.GuestAllocator;
import dev.vmm4j.virtio.vsock.VsockBroker;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import dev.vmm4j.vmm.jail.FdSocket;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import dev.vmm4j.vmm.testing.PublicApi;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every public constructor and static method of this module's exported packages refuses null with a NullPointerException. */
class PublicApiNullTest {
    @TempDir
    Path dir;

    @Test
    void everyPublicConstructorAndStaticMethodChecksForNull() throws Exception {
        try (EventLoop loop = EventLoop.create("null-test");
                EventFd event = EventFd.createNonBlocking();
                OwnedFd fd = new OwnedFd(Libc.eventfd(0, 0), "a sample fd");
                VsockBroker broker = VsockBroker.open(
                        dir.resolve("null-test.vsock"), Thread.ofVirtual().factory());
                GuestMemoryMmap memory =
                        GuestMemoryMmap.builder().anonymous(0, 4096).build()) {
            SplitQueue queue = new SplitQueue(8);
            DeviceActivation activation =
                    new DeviceActivation(memory, 0, List.of(queue), List.of(event), new SilentInterrupt(), loop);
            NullPointerTester tester = new NullPointerTester()
                    .setDefault(DeviceActivation.class, activation)
                    .setDefault(EventLoop.class, loop)
                    .setDefault(EventFd.class, event)
                    .setDefault(SplitQueue.class, queue)
                    .setDefault(GuestAllocator.class, new GuestAllocator(0x1000, 0x1000))
                    .setDefault(BalloonPolicy.Parameters.class, BalloonPolicy.Parameters.crosvm(2L << 30))
                    .setDefault(Inet4Address.class, (Inet4Address) InetAddress.ofLiteral("10.0.2.1"))
                    .setDefault(NetConfig.TapSource.class, new NetConfig.InheritedTap(3))
                    .setDefault(DeviceSandbox.class, DeviceSandbox.bubblewrap())
                    .setDefault(DeviceRecipe.class, EntropyFactory.recipe())
                    .setDefault(OwnedFd.class, fd)
                    .setDefault(VsockBroker.class, broker)
                    .setDefault(FdSocket.class, broker.deviceEnd());
            // VhostNetDevice.open(tap, mac) needs a real tap to test its second argument, and a tap needs
            // CAP_NET_ADMIN: its null checks are VhostNetDeviceTest's. VhostRings.start needs an open Vhost, which
            // needs a /dev/vhost-* this host may lack: its null checks are VhostRingsTest's. NetworkFactory.recipe(tap,
            // mac)
            // needs a real tap too; it reads both at once.
            List<Class<?>> checked = PublicApi.checkNulls(
                    tester,
                    PublicApi.classes(Path.of("target/classes")),
                    Set.of(
                            "dev.vmm4j.virtio.net.VhostNetDevice",
                            "dev.vmm4j.virtio.vhost.VhostRings",
                            "dev.vmm4j.virtio.jail.NetworkFactory"));
            assertFalse(checked.isEmpty());
        }
    }

    private static final class SilentInterrupt implements VirtioInterrupt {
        @Override
        public void signalUsed(int queueIndex) {}

        @Override
        public void signalConfigChange() {}

        @Override
        public void signalNeedsReset(String reason) {}
    }
}
