// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.guests.LinuxInits;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.virtio.net.MacAddress;
import dev.vmm4j.virtio.net.NetConfig;
import dev.vmm4j.virtio.net.NetDevice;
import dev.vmm4j.virtio.net.NetStatistics;
import dev.vmm4j.virtio.net.NetworkNamespace;
import dev.vmm4j.virtio.net.Tap;
import dev.vmm4j.virtio.vsock.VsockConfig;
import dev.vmm4j.virtio.vsock.VsockDevice;
import dev.vmm4j.virtio.vsock.VsockHost;
import dev.vmm4j.virtio.vsock.VsockStatistics;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One boot of the test kernel with a virtio-net device on a tap in a network namespace of the test's own, and an
 * /init that spins without a system call: Linux's virtio_net driver probes the device, the kernel configures the
 * interface itself ({@code ip=}), sends its log to the host over UDP (netconsole: the transmit path), and answers the
 * host's pings in the kernel (both paths). The same boot has a vsock device: Linux's virtio_vsock driver answers a
 * host connection to a port nothing listens on with a reset (its receive and transmit paths), both through the unix
 * socket protocol and through {@link VsockHost}.
 */
@RequiresLinuxKernel
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LinuxNetworkTest {
    private static final String HOST = "10.77.4.1";
    private static final String GUEST = "10.77.4.2";
    private static final MacAddress GUEST_MAC = MacAddress.parse("52:54:00:12:34:57");

    @TempDir
    static Path dir;

    private final Console console = new Console();
    private final StringBuilder netconsole = new StringBuilder();
    private NetworkNamespace namespace;
    private boolean initStarted;
    private String ping = "";
    private NetStatistics statistics;
    private ExitStatus status;
    private String unixSocketAnswer = "";
    private Exception javaConnect;
    private VsockStatistics vsockStatistics;

    @BeforeAll
    @Timeout(value = 20, unit = TimeUnit.MINUTES) // the boot; a class-level @Timeout would not cover @BeforeAll
    void boot() throws Exception {
        namespace = NetworkNamespace.create();
        Tap tap = namespace.inside(() -> {
            Tap made = Tap.create("vmm4jtap%d");
            made.setIpv4(ipv4(HOST), ipv4("255.255.255.0"));
            made.up();
            return made;
        });
        String hostMac = namespace
                .exec("cat", "/sys/class/net/" + tap.name() + "/address")
                .strip();
        Path initrd = Files.write(
                dir.resolve("initramfs.cpio"),
                new Initramfs().file("init", LinuxInits.SPIN.elf(), 0755).toBytes());
        VirtioMmio net = VirtioDevices.net(NetConfig.of(tap).withMac(GUEST_MAC));
        Path vsockSocket = dir.resolve("vm.vsock");
        VsockHost vsockHost = new VsockHost();
        VirtioMmio vsock = VirtioDevices.vsock(
                VsockConfig.of(3).withUnixSocket(vsockSocket).withHost(vsockHost));
        try (DatagramChannel logs =
                        namespace.inside(() -> DatagramChannel.open().bind(new InetSocketAddress(ipv4(HOST), 6666)));
                VirtualMachine vm = VirtualMachine.builder()
                        .kernel(LinuxTestKernel.path())
                        .initrd(initrd)
                        .cmdline("rdinit=/init ip=" + GUEST + "::" + HOST + ":255.255.255.0::eth0:off"
                                + " netconsole=6665@" + GUEST + "/eth0,6666@" + HOST + "/" + hostMac)
                        .serial(console)
                        .device(net)
                        .device(vsock)
                        .build()) {
            vm.start();
            initStarted = console.await("Run /init as init process", LinuxSuite.BOOT_TIMEOUT);
            if (initStarted) {
                try {
                    ping = namespace.exec("ping", "-c", "3", "-W", "10", GUEST);
                } catch (java.io.IOException e) {
                    ping = e.getMessage();
                }
            }
            if (initStarted) {
                unixSocketAnswer = LinuxSuite.connectThroughUnixSocket(vsockSocket, 1234);
                try {
                    vsockHost.connect(1235, java.time.Duration.ofSeconds(30)).close();
                } catch (Exception e) {
                    javaConnect = e;
                }
            }
            vsockStatistics = ((VsockDevice) vsock.device()).statistics();
            statistics = ((NetDevice) net.device()).statistics();
            vm.stop();
            status = vm.awaitExit();
            logs.configureBlocking(false);
            ByteBuffer datagram = ByteBuffer.allocate(2048);
            while (logs.receive(datagram.clear()) != null) {
                netconsole.append(StandardCharsets.UTF_8.decode(datagram.flip()));
            }
        }
        LinuxSuite.keepLog(getClass(), console);
    }

    @AfterAll
    void deleteNamespace() throws Exception {
        if (namespace != null) {
            namespace.close();
        }
    }

    private static Inet4Address ipv4(String address) throws Exception {
        return (Inet4Address) InetAddress.getByName(address);
    }

    @Test
    void theKernelConfiguresTheInterfaceThroughLinuxsVirtioNetDriver() {
        LinuxSuite.assertLines(
                console,
                "IP-Config: Complete:",
                "device=eth0, hwaddr=" + GUEST_MAC + ", ipaddr=" + GUEST + ", mask=255.255.255.0, gw=" + HOST);
        assertTrue(initStarted, "init never started:\n" + console.text());
        assertInstanceOf(ExitStatus.HostStop.class, status, "the host stopped it, nothing else: " + status);
        LinuxSuite.assertNoKernelTrouble(console);
    }

    @Test
    void theHostsPingsAreAnsweredByTheGuestKernel() {
        assertTrue(ping.contains("3 packets transmitted, 3 received, 0% packet loss"), ping + "\n" + console.text());
        assertTrue(statistics.rxFrames() >= 3 && statistics.txFrames() >= 3, statistics.toString());
    }

    @Test
    void linuxsVsockDriverRefusesHostConnectionsToPortsNobodyListensOn() {
        assertTrue(initStarted, "init never started:\n" + console.text());
        assertEquals("<closed>", unixSocketAnswer, "a refused CONNECT closes the socket without OK");
        assertInstanceOf(java.net.ConnectException.class, javaConnect, String.valueOf(javaConnect));
        assertTrue(javaConnect.getMessage().contains("refused"), javaConnect.getMessage());
        assertEquals(2, vsockStatistics.connectionsRefused(), vsockStatistics.toString());
        assertEquals(0, vsockStatistics.badPackets(), vsockStatistics.toString());
        assertEquals(0, vsockStatistics.malformedChains(), vsockStatistics.toString());
    }

    @Test
    void theKernelLogReachesTheHostOverUdp() {
        assertTrue(
                netconsole.toString().contains("Run /init as init process"),
                "netconsole sent:\n" + netconsole + "\nconsole:\n" + console.text());
    }
}
