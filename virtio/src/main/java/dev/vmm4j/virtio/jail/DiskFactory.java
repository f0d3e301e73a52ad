// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.jail;

import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.block.BlockDevice;
import dev.vmm4j.virtio.block.DiskImages;
import dev.vmm4j.vmm.jail.SyscallPolicy;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Makes a virtio block device in a device process ({@code VirtioDevices.disk(..)}). The jail shows the image at its
 * path (read-write unless the disk is read-only) and each file of a qcow2 image's backing chain read-only at its own
 * path (nothing else of their directories); the device process opens and locks them, as the VMM would.
 */
public final class DiskFactory implements JailedDeviceFactory {
    private static final Pattern INHERITED_FD = Pattern.compile("/proc/self/fd/(\\d+)");

    /** The image's format as the caller chose it. */
    public enum Format {
        /** qcow2 or raw, as the image's first bytes say. */
        PROBE,
        /** raw, whatever its first bytes. */
        RAW,
        /** qcow2. */
        QCOW2
    }

    /**
     * {@return the recipe of a block device over {@code image}} An image given as {@code /proc/self/fd/N} (crosvm's
     * inherited fd) is passed to the device process as that fd, which the recipe takes over, as the VMM would have.
     *
     * @param image the image file; made absolute, and shown in the jail at that path
     * @param readOnly whether the guest may only read; the image is then shown read-only
     * @param format the format to open it as; for any but {@link Format#RAW}, the qcow2 backing chain is read now, to
     *     show each backing file read-only (not for an inherited fd)
     * @throws IOException if the image cannot be read to find its backing files
     */
    public static DeviceRecipe recipe(Path image, boolean readOnly, Format format) throws IOException {
        Matcher inherited = INHERITED_FD.matcher(image.toString());
        if (inherited.matches()) {
            int fd = Integer.parseInt(inherited.group(1));
            return DeviceRecipe.of(DiskFactory.class, "virtio-blk")
                    .with("readOnly", Boolean.toString(readOnly))
                    .with("format", format.name())
                    .withFd(new OwnedFd(fd, "disk image " + image));
        }
        Path absolute = image.toAbsolutePath().normalize();
        DeviceRecipe recipe = DeviceRecipe.of(DiskFactory.class, "virtio-blk")
                .with("image", absolute.toString())
                .with("readOnly", Boolean.toString(readOnly))
                .with("format", format.name());
        if (format != Format.RAW) {
            for (Path backing : DiskImages.backingChain(absolute)) {
                recipe = recipe.withReadOnly(backing); // each at its own path, where the image's header finds it
            }
        }
        return readOnly ? recipe.withReadOnly(absolute) : recipe.withReadWrite(absolute);
    }

    /** For the device process. */
    public DiskFactory() {}

    @Override
    public VirtioDevice create(DeviceRecipe recipe) throws IOException {
        // An inherited image came as an fd: this process's /proc/self/fd/N is then that image, as it was the VMM's.
        Path image = recipe.fds().isEmpty()
                ? Path.of(recipe.required("image"))
                : Path.of("/proc/self/fd/" + recipe.fds().getFirst().release());
        boolean readOnly = Boolean.parseBoolean(recipe.required("readOnly"));
        return switch (Format.valueOf(recipe.required("format"))) {
            case PROBE -> BlockDevice.open(image, readOnly);
            case RAW -> BlockDevice.openRaw(image, readOnly);
            case QCOW2 -> BlockDevice.openQcow2(image, readOnly);
        };
    }

    @Override
    public SyscallPolicy policy(DeviceRecipe recipe) {
        return SyscallPolicy.blockDevice();
    }
}
