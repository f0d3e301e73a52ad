// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import dev.vmm4j.kvm.bindings.Errno;
import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCall;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.kvm.bindings.ifreq;
import dev.vmm4j.kvm.bindings.in_addr;
import dev.vmm4j.kvm.bindings.sockaddr;
import dev.vmm4j.kvm.bindings.sockaddr_in;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A Linux tap interface, the host end of a guest's network device: frames written to it enter the host's network
 * stack on interface {@link #name()}, and frames the host sends there are read from it. Opened with
 * IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, non-blocking, with the {@value NetFeatures#HEADER_BYTES}-byte virtio-net header, as
 * crosvm opens its taps.
 *
 * <pre>{@code
 * Tap tap = Tap.create("vmtap%d");                 // needs CAP_NET_ADMIN
 * tap.setIpv4(hostIp, netmask);                     // crosvm's --host_ip, --netmask
 * tap.up();
 * builder.device(VirtioDevices.net(NetConfig.of(tap).withMac(guestMac)));   // the VM owns the tap from here
 * }</pre>
 *
 * Everything is done with ioctls ({@code TUNSETIFF}, {@code SIOCSIFADDR}, ...), never by running {@code ip}. The
 * interface is made, and configured, in the network namespace of the calling thread: to keep a guest's network apart
 * from the host's, call these from a thread that has entered another namespace ({@code setns}), or adopt a tap another
 * process made there ({@link #adopt}).
 *
 * <p><b>Ownership:</b> the tap owns its fd; {@link #close()} closes it, which removes the interface (unless it was
 * made persistent by someone else). A tap handed to a VM device is closed by the VM.
 *
 * <p><b>Thread safety:</b> configure it from one thread; {@link #receive} and {@link #send} run on the device's loop.
 */
public final class Tap implements FramePort {
    private static final String TUN = "/dev/net/tun";

    private final OwnedFd fd;
    private final String name;

    private Tap(OwnedFd fd, String name) {
        this.fd = fd;
        this.name = name;
    }

    /**
     * {@return a new tap interface named {@code nameTemplate}} A {@code %d} in the name picks the first free number
     * ({@code vmtap%d} as crosvm); a name of an existing tap that no process holds attaches to it.
     *
     * @param nameTemplate the interface name, 1 to 15 bytes of UTF-8, made in the calling thread's network namespace
     * @throws IllegalArgumentException if the name is empty or longer than 15 bytes
     * @throws TapException if /dev/net/tun is missing, this process lacks CAP_NET_ADMIN, or the name is taken
     */
    public static Tap create(String nameTemplate) throws TapException {
        Objects.requireNonNull(nameTemplate, "nameTemplate");
        byte[] nameBytes = nameTemplate.getBytes(StandardCharsets.UTF_8);
        if (nameBytes.length == 0 || nameBytes.length >= LinuxHeaders.IFNAMSIZ()) {
            throw new IllegalArgumentException("a network interface name has 1 to " + (LinuxHeaders.IFNAMSIZ() - 1)
                    + " bytes: '" + nameTemplate + "' has " + nameBytes.length);
        }
        if (!Files.exists(Path.of(TUN))) {
            throw new TapException(TUN + " does not exist, so no tap can be made: load the tun module (modprobe tun)"
                    + " or create the node (mknod " + TUN + " c 10 200)");
        }
        int raw;
        try {
            raw = Libc.open(TUN, LinuxHeaders.O_RDWR() | LinuxHeaders.O_NONBLOCK(), "(needed to make a tap)");
        } catch (NativeCallException e) {
            throw new TapException(
                    "cannot open " + TUN + ": " + Errno.describe(e.errno())
                            + (isPermission(e.errno())
                                    ? " (this user may not make taps: run as root, or pass a tap made"
                                            + " beforehand with --tap-fd)"
                                    : ""),
                    e);
        }
        OwnedFd owned = new OwnedFd(raw, "tap " + nameTemplate);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment request = interfaceRequest(arena, nameTemplate);
            ifreq.ifr_ifru.ifru_flags(ifreq.ifr_ifru(request), (short)
                    (LinuxHeaders.IFF_TAP() | LinuxHeaders.IFF_NO_PI() | LinuxHeaders.IFF_VNET_HDR()));
            int result = NativeCall.ioctl(raw, LinuxHeaders.TUNSETIFF(), request);
            if (result < 0) {
                throw new TapException(createFailure(nameTemplate, -result));
            }
            Tap tap = new Tap(owned, interfaceName(request));
            tap.setHeaderSize();
            return tap;
        } catch (TapException | RuntimeException e) {
            owned.close();
            throw e;
        }
    }

    private static String createFailure(String name, int errno) {
        String reason = "cannot make tap " + name + ": TUNSETIFF failed: " + Errno.describe(errno);
        if (isPermission(errno)) {
            return reason + " (making a tap needs CAP_NET_ADMIN: run as root or give the JVM the capability, or pass"
                    + " a tap made beforehand with --tap-fd)";
        }
        if (errno == LinuxHeaders.EBUSY()) {
            return reason + " (another process holds the tap with that name: choose another name, or vmtap%d)";
        }
        if (errno == LinuxHeaders.EINVAL()) {
            return reason + " (the name belongs to an interface that is not a tap, or to a tap made with other flags"
                    + " such as IFF_MULTI_QUEUE: choose another name)";
        }
        return reason;
    }

    private static boolean isPermission(int errno) {
        return errno == LinuxHeaders.EPERM() || errno == LinuxHeaders.EACCES();
    }

    /**
     * {@return the tap behind {@code inheritedFd}, which a parent process opened and passed on} As crosvm's
     * {@code --tap-fd}: the fd must be open and not close-on-exec (so that it was passed on purpose, and is not one
     * of this JVM's own), and be a tap opened with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR. The tap works on a duplicate;
     * {@code inheritedFd} stays open and the caller's to close. Its file is made non-blocking.
     *
     * @param inheritedFd the descriptor number in this process; its open file (shared with {@code inheritedFd} and
     *     the parent's copy) is switched to non-blocking
     * @throws TapException if the fd is not open, is close-on-exec, is not a tap, or has the wrong flags
     */
    public static Tap adopt(int inheritedFd) throws TapException {
        int descriptorFlags = Libc.fcntl(inheritedFd, LinuxHeaders.F_GETFD(), 0);
        if (inheritedFd < 0 || descriptorFlags < 0) {
            throw new TapException("tap fd " + inheritedFd + " is not an open file descriptor of this process"
                    + (descriptorFlags < 0 ? ": " + Errno.describe(-descriptorFlags) : ""));
        }
        if ((descriptorFlags & LinuxHeaders.FD_CLOEXEC()) != 0) {
            throw new TapException(
                    "tap fd " + inheritedFd + " is close-on-exec, so it was not passed to this process on"
                            + " purpose (it is likely one of the JVM's own): pass a tap fd the parent left open across exec");
        }
        int duplicate = Libc.fcntl(inheritedFd, LinuxHeaders.F_DUPFD_CLOEXEC(), 0);
        if (duplicate < 0) {
            throw new TapException("cannot duplicate tap fd " + inheritedFd + ": " + Errno.describe(-duplicate));
        }
        OwnedFd owned = new OwnedFd(duplicate, "tap fd " + inheritedFd);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment request = ifreq.allocate(arena);
            int result = NativeCall.ioctl(duplicate, LinuxHeaders.TUNGETIFF(), request);
            if (result < 0) {
                throw new TapException("fd " + inheritedFd + " is not a tap: TUNGETIFF failed: "
                        + Errno.describe(-result) + " (pass the fd of an open /dev/net/tun attached to a tap)");
            }
            int flags = Short.toUnsignedInt(ifreq.ifr_ifru.ifru_flags(ifreq.ifr_ifru(request)));
            int wanted = LinuxHeaders.IFF_TAP() | LinuxHeaders.IFF_NO_PI() | LinuxHeaders.IFF_VNET_HDR();
            String name = interfaceName(request);
            if ((flags & wanted) != wanted) {
                throw new TapException("fd " + inheritedFd + " (" + name + ") is "
                        + ((flags & LinuxHeaders.IFF_TAP()) == 0
                                ? "a tun, not a tap"
                                : "a tap opened without "
                                        + ((flags & LinuxHeaders.IFF_NO_PI()) == 0 ? "IFF_NO_PI" : "IFF_VNET_HDR"))
                        + ": open it with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR");
            }
            int statusFlags = Libc.fcntl(duplicate, LinuxHeaders.F_GETFL(), 0);
            int set = statusFlags < 0
                    ? statusFlags
                    : Libc.fcntl(duplicate, LinuxHeaders.F_SETFL(), statusFlags | LinuxHeaders.O_NONBLOCK());
            if (set < 0) {
                throw new TapException("cannot make tap fd " + inheritedFd + " non-blocking: " + Errno.describe(-set));
            }
            Tap tap = new Tap(owned, name);
            tap.setHeaderSize();
            return tap;
        } catch (TapException | RuntimeException e) {
            owned.close();
            throw e;
        }
    }

    private void setHeaderSize() throws TapException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocateFrom(ValueLayout.JAVA_INT, NetFeatures.HEADER_BYTES);
            int result = NativeCall.ioctl(fd.get(), LinuxHeaders.TUNSETVNETHDRSZ(), size);
            if (result < 0) {
                throw new TapException("tap " + name + ": TUNSETVNETHDRSZ " + NetFeatures.HEADER_BYTES + " failed: "
                        + Errno.describe(-result));
            }
        }
    }

    private static MemorySegment interfaceRequest(Arena arena, String name) {
        MemorySegment request = ifreq.allocate(arena);
        ifreq.ifr_ifrn(request).setString(0, name, StandardCharsets.UTF_8);
        return request;
    }

    private static String interfaceName(MemorySegment request) {
        return ifreq.ifr_ifrn(request).getString(0, StandardCharsets.UTF_8);
    }

    /** {@return the interface's name, such as {@code vmtap0}} */
    public String name() {
        return name;
    }

    /**
     * Gives the host's end of the link IPv4 address {@code address} with {@code netmask} (crosvm's {@code --host_ip}
     * and {@code --netmask}).
     *
     * @param address the host's IPv4 address on the link
     * @param netmask the link's netmask; not checked here (the kernel may refuse one that is not contiguous)
     * @throws TapException if the host refuses (no CAP_NET_ADMIN, or the interface is gone)
     */
    public void setIpv4(Inet4Address address, Inet4Address netmask) throws TapException {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(netmask, "netmask");
        interfaceIoctl(
                "SIOCSIFADDR " + address.getHostAddress(),
                LinuxHeaders.SIOCSIFADDR(),
                request -> putIpv4(ifreq.ifr_ifru.ifru_addr(ifreq.ifr_ifru(request)), address));
        interfaceIoctl(
                "SIOCSIFNETMASK " + netmask.getHostAddress(),
                LinuxHeaders.SIOCSIFNETMASK(),
                request -> putIpv4(ifreq.ifr_ifru.ifru_netmask(ifreq.ifr_ifru(request)), netmask));
    }

    private static void putIpv4(MemorySegment address, Inet4Address value) {
        sockaddr_in.sin_family(address, (short) LinuxHeaders.AF_INET());
        int networkOrder = ByteBuffer.wrap(value.getAddress())
                .order(ByteOrder.nativeOrder())
                .getInt();
        in_addr.s_addr(sockaddr_in.sin_addr(address), networkOrder);
    }

    /**
     * Gives the host's end of the link the MAC address {@code mac}.
     *
     * @param mac the address, for the host's end, not the guest's (see {@link NetConfig#withMac})
     * @throws TapException if the host refuses (no CAP_NET_ADMIN, or the interface is gone)
     */
    public void setMacAddress(MacAddress mac) throws TapException {
        Objects.requireNonNull(mac, "mac");
        byte[] bytes = mac.bytes();
        interfaceIoctl("SIOCSIFHWADDR " + mac, LinuxHeaders.SIOCSIFHWADDR(), request -> {
            MemorySegment hardware = ifreq.ifr_ifru.ifru_hwaddr(ifreq.ifr_ifru(request));
            sockaddr.sa_family(hardware, (short) LinuxHeaders.ARPHRD_ETHER());
            for (int i = 0; i < bytes.length; i++) {
                sockaddr.sa_data(hardware, i, bytes[i]);
            }
        });
    }

    /**
     * Brings the interface up (IFF_UP), as {@code ip link set NAME up}.
     *
     * @throws TapException if the host refuses (no CAP_NET_ADMIN, or the interface is gone)
     */
    public void up() throws TapException {
        short[] flags = new short[1];
        interfaceIoctl(
                "SIOCGIFFLAGS",
                LinuxHeaders.SIOCGIFFLAGS(),
                request -> {},
                (request) -> flags[0] = ifreq.ifr_ifru.ifru_flags(ifreq.ifr_ifru(request)));
        interfaceIoctl(
                "SIOCSIFFLAGS up",
                LinuxHeaders.SIOCSIFFLAGS(),
                request ->
                        ifreq.ifr_ifru.ifru_flags(ifreq.ifr_ifru(request), (short) (flags[0] | LinuxHeaders.IFF_UP())));
    }

    private interface RequestFiller {
        void fill(MemorySegment request);
    }

    private interface ResultReader {
        void read(MemorySegment request);
    }

    private void interfaceIoctl(String what, long request, RequestFiller filler) throws TapException {
        interfaceIoctl(what, request, filler, result -> {});
    }

    /** Runs one interface ioctl on a throwaway AF_INET socket, in the calling thread's network namespace. */
    private void interfaceIoctl(String what, long requestCode, RequestFiller filler, ResultReader reader)
            throws TapException {
        int socket;
        try {
            socket = Libc.socket(LinuxHeaders.AF_INET(), LinuxHeaders.SOCK_DGRAM(), "to configure tap " + name);
        } catch (NativeCallException e) {
            throw new TapException("tap " + name + ": " + e.getMessage(), e);
        }
        try (OwnedFd owned = new OwnedFd(socket, "configuration socket of " + name);
                Arena arena = Arena.ofConfined()) {
            MemorySegment request = interfaceRequest(arena, name);
            filler.fill(request);
            int result = NativeCall.ioctl(owned.get(), requestCode, request);
            if (result < 0) {
                throw new TapException("tap " + name + ": " + what + " failed: " + Errno.describe(-result)
                        + (isPermission(-result) ? " (configuring an interface needs CAP_NET_ADMIN)" : "")
                        + (-result == LinuxHeaders.ENODEV()
                                ? " (no such interface in this thread's network namespace)"
                                : ""));
            }
            reader.read(request);
        }
    }

    @Override
    public int fd() {
        return fd.get();
    }

    @Override
    public long receive(MemorySegment iovecs, int count) {
        return Libc.readv(fd.get(), iovecs, count);
    }

    @Override
    public long send(MemorySegment iovecs, int count) {
        return Libc.writev(fd.get(), iovecs, count);
    }

    /**
     * Sets the offloads the guest accepted (TUNSETOFFLOAD).
     *
     * @throws TapException if the host refuses them
     */
    @Override
    public void setOffload(int tunFlags) throws TapException {
        int result = NativeCall.ioctl(fd.get(), LinuxHeaders.TUNSETOFFLOAD(), tunFlags);
        if (result < 0) {
            throw new TapException(
                    String.format("tap %s: TUNSETOFFLOAD %#x failed: %s", name, tunFlags, Errno.describe(-result)));
        }
    }

    /** Closes the tap's fd (the interface goes away with it unless it is persistent). Idempotent. */
    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "Tap[" + name + ", " + fd + "]";
    }
}
