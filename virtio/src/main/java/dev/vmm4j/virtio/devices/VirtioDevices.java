// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.devices;

import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.block.BlockDevice;
import dev.vmm4j.virtio.jail.DeviceRecipe;
import dev.vmm4j.virtio.jail.DiskFactory;
import dev.vmm4j.virtio.jail.EntropyFactory;
import dev.vmm4j.virtio.jail.NetworkFactory;
import dev.vmm4j.virtio.jail.SharedDirectoryFactory;
import dev.vmm4j.virtio.jail.VsockFactory;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.virtio.net.NetConfig;
import dev.vmm4j.virtio.net.NetDevice;
import dev.vmm4j.virtio.net.Tap;
import dev.vmm4j.virtio.net.VhostNetDevice;
import dev.vmm4j.virtio.p9.P9Device;
import dev.vmm4j.virtio.rng.RngDevice;
import dev.vmm4j.virtio.vsock.VhostVsockDevice;
import dev.vmm4j.virtio.vsock.VsockBroker;
import dev.vmm4j.virtio.vsock.VsockConfig;
import dev.vmm4j.virtio.vsock.VsockDevice;
import dev.vmm4j.vmm.devices.DeviceContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * vmm4j's standard virtio devices, ready for {@code VirtualMachineBuilder.device(..)}:
 *
 * <pre>{@code
 * VirtualMachine.builder().kernel(vmlinux)
 *         .device(VirtioDevices.disk(Path.of("root.qcow2")))                       // /dev/vda
 *         .device(VirtioDevices.disk(Path.of("data.img"), DiskOption.READ_ONLY))  // /dev/vdb
 *         .device(VirtioDevices.rng())
 *         .device(balloon)                                                          // VirtioDevices.balloon()
 *         .build();
 * }</pre>
 *
 * Each sits behind virtio-mmio ({@link VirtioMmio}) and appears to the guest in the order added. Images are opened and
 * locked when the VM is built, so that a missing or locked image fails {@code build()} with the reason.
 */
public final class VirtioDevices {
    private VirtioDevices() {}

    /**
     * {@return a virtio block device over the image {@code image}} By default it is writable and locked exclusively
     * (a second VM cannot open it), and qcow2 (versions 2 and 3, with backing files) or raw as its first bytes say;
     * {@link DiskOption}s change that. Its ID (GET_ID) is the file's name.
     *
     * @param image the image file (a regular file; block devices are not supported yet); checked, opened and locked
     *     when the VM is built, not now
     * @param options how to open it; none for a writable image of the probed format, repeats are harmless
     * @throws NullPointerException if {@code image} or an option is null
     * @throws IllegalArgumentException if both {@link DiskOption#QCOW2} and {@link DiskOption#RAW} are given
     */
    public static VirtioMmio disk(Path image, DiskOption... options) {
        Objects.requireNonNull(image, "image");
        Set<DiskOption> set = EnumSet.noneOf(DiskOption.class);
        for (DiskOption option : options) {
            set.add(Objects.requireNonNull(option, "option"));
        }
        if (set.contains(DiskOption.QCOW2) && set.contains(DiskOption.RAW)) {
            throw new IllegalArgumentException("a disk is QCOW2 or RAW, not both: " + image);
        }
        boolean readOnly = set.contains(DiskOption.READ_ONLY);
        String description = "virtio-blk " + image + (readOnly ? " (read-only)" : "");
        DiskFactory.Format format = set.contains(DiskOption.QCOW2)
                ? DiskFactory.Format.QCOW2
                : set.contains(DiskOption.RAW) ? DiskFactory.Format.RAW : DiskFactory.Format.PROBE;
        return VirtioMmio.of(description, new VirtioMmio.JailableFactory() {
            @Override
            public Optional<DeviceRecipe> recipe(DeviceContext context) throws IOException {
                return Optional.of(DiskFactory.recipe(image, readOnly, format));
            }

            @Override
            public BlockDevice create(DeviceContext context) throws IOException {
                if (set.contains(DiskOption.QCOW2)) {
                    return BlockDevice.openQcow2(image, readOnly);
                }
                return set.contains(DiskOption.RAW)
                        ? BlockDevice.openRaw(image, readOnly)
                        : BlockDevice.open(image, readOnly);
            }

            @Override
            public List<String> checkConfiguration() {
                List<String> problems = new ArrayList<>();
                if (!Files.isRegularFile(image)) {
                    problems.add("disk image " + image
                            + " is not a regular file (image files only; block devices are not supported yet)");
                } else if (!Files.isReadable(image) || (!readOnly && !Files.isWritable(image))) {
                    problems.add("disk image " + image + " is not " + (readOnly ? "readable" : "readable and writable")
                            + " by this user" + (readOnly ? "" : " (add it read-only with DiskOption.READ_ONLY)"));
                }
                return problems;
            }
        });
    }

    /**
     * {@return a virtio network device as {@code config} says} A tap vmm4j makes is made, given its address (and MAC)
     * and brought up when the VM is built; an inherited tap fd is checked then. The VM owns the tap (and the device)
     * from then on. A tap the caller made ({@link NetConfig#of}) goes with the device: once the device is given to
     * {@code builder.device(..)} the VM closes it, also if {@code build()} fails; a device never given to a builder
     * must be closed by the caller ({@code close()}), which closes the tap.
     *
     * @param config the tap, the guest's MAC and whether the kernel (vhost-net) moves the frames
     * @throws NullPointerException if {@code config} is null
     */
    public static VirtioMmio net(NetConfig config) {
        Objects.requireNonNull(config, "config");
        String description = "virtio-net " + describe(config.tap())
                + config.mac().map(mac -> " mac " + mac).orElse("") + (config.vhost() ? " (vhost-net)" : "");
        return VirtioMmio.of(description, new VirtioMmio.JailableFactory() {
            @Override
            public Optional<DeviceRecipe> recipe(DeviceContext context) throws IOException {
                if (config.vhost()) {
                    return Optional.empty(); // the kernel moves the frames: nothing to jail
                }
                try (Tap tap = openTap(config.tap())) {
                    return Optional.of(NetworkFactory.recipe(tap, config.mac()));
                }
            }

            @Override
            public VirtioDevice create(DeviceContext context) throws IOException {
                Tap tap = openTap(config.tap());
                if (config.vhost()) {
                    return VhostNetDevice.open(tap, config.mac());
                }
                return new NetDevice(tap, config.mac());
            }

            @Override
            public List<String> checkConfiguration() {
                List<String> problems = new ArrayList<>();
                if (config.tap() instanceof NetConfig.NewTap && !Files.exists(Path.of("/dev/net/tun"))) {
                    problems.add("a network device needs /dev/net/tun to make its tap, and this host has none"
                            + " (modprobe tun)");
                }
                if (config.tap() instanceof NetConfig.InheritedTap(int fd) && fd < 0) {
                    problems.add("tap fd " + fd + " is not a file descriptor");
                }
                if (config.vhost() && !Files.exists(VhostNetDevice.VHOST_NET)) {
                    problems.add("vhost-net needs " + VhostNetDevice.VHOST_NET + ", which this host lacks (modprobe"
                            + " vhost_net): leave vhost-net off to let vmm4j move the frames");
                }
                return problems;
            }

            @Override
            public void discard() {
                if (config.tap() instanceof NetConfig.GivenTap(Tap tap)) {
                    tap.close();
                }
            }
        });
    }

    /**
     * {@return a virtio socket device as {@code config} says} Its unix socket, if it has one, is made when the VM is
     * built (and deleted when the VM is closed); vhost-vsock claims the guest's CID then. The VM owns the device.
     *
     * @param config the guest's CID and how the host reaches it; its {@link VsockConfig#problems()} fail
     *     {@code build()}
     * @throws NullPointerException if {@code config} is null
     */
    public static VirtioMmio vsock(VsockConfig config) {
        Objects.requireNonNull(config, "config");
        String description = "virtio-vsock cid " + config.guestCid()
                + config.unixSocket().map(path -> " socket " + path).orElse("")
                + config.host().map(host -> " with a VsockHost").orElse("")
                + (config.vhost() ? " (vhost-vsock)" : "");
        return VirtioMmio.of(description, new VirtioMmio.JailableFactory() {
            @Override
            public Optional<DeviceRecipe> recipe(DeviceContext context) throws IOException {
                // A VsockHost's channels live in this JVM, and vhost-vsock's data path is the kernel's.
                if (config.vhost() || config.host().isPresent()) {
                    return Optional.empty();
                }
                if (config.unixSocket().isEmpty()) {
                    return Optional.empty();
                }
                // The VMM keeps the socket and makes the guest's host connections; the device process gets fds.
                Path socket = config.unixSocket().get();
                VsockBroker broker = VsockBroker.open(socket, context.threadFactory());
                context.closeOnExit(broker);
                return Optional.of(VsockFactory.recipe(config.guestCid(), socket, broker));
            }

            @Override
            public VirtioDevice create(DeviceContext context) throws IOException {
                return config.vhost() ? VhostVsockDevice.open(config) : VsockDevice.open(config);
            }

            @Override
            public List<String> checkConfiguration() {
                List<String> problems = new ArrayList<>(config.problems());
                if (config.vhost() && !Files.exists(VhostVsockDevice.VHOST_VSOCK)) {
                    problems.add("vhost-vsock (--cid) needs " + VhostVsockDevice.VHOST_VSOCK + ", which this host"
                            + " lacks (modprobe vhost_vsock): use a unix socket (--vsock-socket) instead");
                }
                return problems;
            }
        });
    }

    private static String describe(NetConfig.TapSource source) {
        return switch (source) {
            case NetConfig.NewTap created ->
                "new tap " + created.name() + " " + created.hostIp().getHostAddress() + "/"
                        + created.netmask().getHostAddress();
            case NetConfig.InheritedTap inherited -> "tap fd " + inherited.fd();
            case NetConfig.GivenTap given -> given.tap().name();
        };
    }

    private static Tap openTap(NetConfig.TapSource source) throws IOException {
        return switch (source) {
            case NetConfig.NewTap created -> {
                Tap tap = Tap.create(created.name());
                try {
                    tap.setIpv4(created.hostIp(), created.netmask());
                    if (created.hostMac().isPresent()) {
                        tap.setMacAddress(created.hostMac().get());
                    }
                    tap.up();
                } catch (IOException | RuntimeException e) {
                    tap.close();
                    throw e;
                }
                yield tap;
            }
            case NetConfig.InheritedTap inherited -> Tap.adopt(inherited.fd());
            case NetConfig.GivenTap given -> given.tap();
        };
    }

    /**
     * {@return a virtio-9p device sharing the host directory {@code source} under the mount tag {@code tag}, as
     * crosvm's {@code --shared-dir SRC:TAG}} The guest mounts it with
     * {@code mount -t 9p -o trans=virtio,version=9p2000.L TAG /mnt}, or boots from it with
     * {@code root=TAG rootfstype=9p rootflags=trans=virtio,version=9p2000.L}. The {@code P9Server} behind it is
     * confined to {@code source}: nothing outside it is read, written, created or revealed, whatever the guest sends.
     * With {@code readOnly} every change is refused ({@code EROFS}). The directory is opened when the VM is built.
     *
     * @param source the host directory to share; checked and opened when the VM is built, not now
     * @param tag the mount tag the guest names it by: 1 to 255 bytes of UTF-8 without NUL, checked now
     * @param readOnly whether the guest may only read; the directory then needs only to be readable by this user
     * @throws NullPointerException if {@code source} or {@code tag} is null
     * @throws IllegalArgumentException if the tag is empty, longer than 255 bytes or has a NUL
     */
    public static VirtioMmio sharedDirectory(Path source, String tag, boolean readOnly) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(tag, "tag");
        P9Device.checkTag(tag); // now, not at build()
        String description = "virtio-9p " + source + " as \"" + tag + "\"" + (readOnly ? " (read-only)" : "");
        return VirtioMmio.of(description, new VirtioMmio.JailableFactory() {
            @Override
            public Optional<DeviceRecipe> recipe(DeviceContext context) {
                return Optional.of(SharedDirectoryFactory.recipe(source, tag, readOnly));
            }

            @Override
            public P9Device create(DeviceContext context) throws IOException {
                return P9Device.open(source, tag, readOnly);
            }

            @Override
            public List<String> checkConfiguration() {
                if (!Files.isDirectory(source)) {
                    return List.of("shared directory " + source + " is not a directory");
                }
                if (!Files.isReadable(source) || (!readOnly && !Files.isWritable(source))) {
                    return List.of("shared directory " + source + " is not "
                            + (readOnly ? "readable" : "readable and writable") + " by this user"
                            + (readOnly ? "" : " (share it read-only)"));
                }
                return List.of();
            }
        });
    }

    /** {@return a virtio entropy device fed from the host's secure random source} */
    public static VirtioMmio rng() {
        return VirtioMmio.of("virtio-rng", new VirtioMmio.JailableFactory() {
            @Override
            public Optional<DeviceRecipe> recipe(DeviceContext context) {
                return Optional.of(EntropyFactory.recipe());
            }

            @Override
            public VirtioDevice create(DeviceContext context) {
                return new RngDevice();
            }
        });
    }

    /**
     * {@return a virtio memory balloon; keep it to move it once the VM is built ({@code balloon.setTargetBytes(..)})}
     * The guest's driver may also deflate it when the guest runs out of memory.
     */
    public static VirtioBalloon balloon() {
        return new VirtioBalloon();
    }
}
