// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import java.net.Inet4Address;
import java.util.Objects;
import java.util.Optional;

/**
 * How a guest's network device reaches the host, as crosvm's network flags say it: a tap vmm4j makes and configures
 * ({@code --host_ip}, {@code --netmask}, {@code --mac}), a tap a parent process opened ({@code --tap-fd}), or a
 * {@link Tap} the embedding program made; frames moved by vmm4j or by the kernel's vhost-net ({@code --vhost-net}).
 *
 * <pre>{@code
 * NetConfig.newTap(hostIp, netmask).withMac(MacAddress.parse("52:54:00:12:34:56")).withVhost(true)
 * }</pre>
 *
 * Immutable: each {@code with} method returns a changed copy.
 *
 * @param tap where the tap comes from
 * @param mac the guest's MAC address, shown in the device's configuration; without one the driver makes one up
 * @param vhost whether the kernel's vhost-net moves the frames (needs /dev/vhost-net)
 */
public record NetConfig(TapSource tap, Optional<MacAddress> mac, boolean vhost) {
    /** The name crosvm gives the taps it makes: the first free {@code vmtapN}. */
    public static final String DEFAULT_TAP_NAME = "vmtap%d";

    /** Where a network device's tap comes from. */
    public sealed interface TapSource {}

    /**
     * A tap vmm4j makes when the VM is built (needs CAP_NET_ADMIN), gives the host address and netmask, and brings up.
     *
     * @param name the interface name; {@code %d} picks the first free number
     * @param hostIp the host's address on the link
     * @param netmask the link's netmask
     * @param hostMac the MAC address of the host's end (crosvm's {@code --mac}); without one the kernel picks one
     */
    public record NewTap(String name, Inet4Address hostIp, Inet4Address netmask, Optional<MacAddress> hostMac)
            implements TapSource {
        /** Checks the arguments. */
        public NewTap {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(hostIp, "hostIp");
            Objects.requireNonNull(netmask, "netmask");
            Objects.requireNonNull(hostMac, "hostMac");
            if (!isNetmask(netmask)) {
                throw new IllegalArgumentException(
                        netmask.getHostAddress() + " is not a netmask (ones followed by zeros, as 255.255.255.0)");
            }
        }

        private static boolean isNetmask(Inet4Address netmask) {
            byte[] b = netmask.getAddress();
            int bits = ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
            return (~bits & (~bits + 1)) == 0; // the zeros form one run at the end
        }
    }

    /**
     * A tap another process opened and passed on as {@code fd} (see {@link Tap#adopt}); the device works on a
     * duplicate, and {@code fd} stays the caller's.
     *
     * @param fd the inherited descriptor
     */
    public record InheritedTap(int fd) implements TapSource {}

    /**
     * A tap the caller made; the VM owns it from {@code builder.device(..)} on, and closes it (also when
     * {@code build()} fails).
     *
     * @param tap the tap
     */
    public record GivenTap(Tap tap) implements TapSource {
        /** Checks the argument. */
        public GivenTap {
            Objects.requireNonNull(tap, "tap");
        }
    }

    /** Checks the arguments. */
    public NetConfig {
        Objects.requireNonNull(tap, "tap");
        Objects.requireNonNull(mac, "mac");
    }

    /**
     * {@return a device on a new tap named {@value #DEFAULT_TAP_NAME} with {@code hostIp}/{@code netmask}}
     *
     * @param hostIp the host's address on the link; the guest needs an address of its own in the same subnet
     * @param netmask the link's netmask: ones followed by zeros, such as 255.255.255.0
     * @throws IllegalArgumentException if {@code netmask} is not a netmask
     */
    public static NetConfig newTap(Inet4Address hostIp, Inet4Address netmask) {
        return new NetConfig(new NewTap(DEFAULT_TAP_NAME, hostIp, netmask, Optional.empty()), Optional.empty(), false);
    }

    /**
     * {@return a device on the tap a parent process passed as {@code fd}}
     *
     * @param fd the inherited descriptor, stays the caller's; checked when the VM is built (open, not close-on-exec,
     *     a tap with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR)
     */
    public static NetConfig inheritedTap(int fd) {
        return new NetConfig(new InheritedTap(fd), Optional.empty(), false);
    }

    /**
     * {@return a device on {@code tap}, which the VM then owns}
     *
     * @param tap a tap the caller made and configured; owned by the VM once the device is given to a builder
     */
    public static NetConfig of(Tap tap) {
        return new NetConfig(new GivenTap(tap), Optional.empty(), false);
    }

    /**
     * {@return this configuration with the guest's MAC address {@code guestMac}}
     *
     * @param guestMac the address the device shows the guest's driver; not checked to be unicast (use
     *     {@link MacAddress#parse}, which is)
     */
    public NetConfig withMac(MacAddress guestMac) {
        return new NetConfig(tap, Optional.of(guestMac), vhost);
    }

    /**
     * {@return this configuration with the kernel's vhost-net moving the frames, or not}
     *
     * @param kernelMovesFrames true for vhost-net (needs /dev/vhost-net, checked when the VM is built); false for
     *     vmm4j's own device, the default
     */
    public NetConfig withVhost(boolean kernelMovesFrames) {
        return new NetConfig(tap, mac, kernelMovesFrames);
    }

    /**
     * {@return this configuration with the new tap named {@code nameTemplate}}
     *
     * @param nameTemplate the interface name, 1 to 15 bytes (checked when the tap is made); a {@code %d} in it picks
     *     the first free number
     * @throws IllegalStateException unless the tap is one vmm4j makes
     */
    public NetConfig withTapName(String nameTemplate) {
        Objects.requireNonNull(nameTemplate, "nameTemplate");
        NewTap created = newTapOrThrow("a name");
        return new NetConfig(
                new NewTap(nameTemplate, created.hostIp(), created.netmask(), created.hostMac()), mac, vhost);
    }

    /**
     * {@return this configuration with the new tap's own (host-side) MAC address {@code hostMac}, as crosvm's
     * {@code --mac} sets it}
     *
     * @param hostMac the MAC address of the host's end of the link, set when the tap is made
     * @throws IllegalStateException unless the tap is one vmm4j makes
     */
    public NetConfig withTapMac(MacAddress hostMac) {
        Objects.requireNonNull(hostMac, "hostMac");
        NewTap created = newTapOrThrow("a MAC address");
        return new NetConfig(
                new NewTap(created.name(), created.hostIp(), created.netmask(), Optional.of(hostMac)), mac, vhost);
    }

    private NewTap newTapOrThrow(String what) {
        if (!(tap instanceof NewTap created)) {
            throw new IllegalStateException("only a tap vmm4j makes has " + what + " to choose; this one is " + tap);
        }
        return created;
    }
}
