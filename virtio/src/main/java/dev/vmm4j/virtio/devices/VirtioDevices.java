package dev.vmm4j.virtio.devices;

import dev.vmm4j.virtio.block.BlockDevice;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.virtio.rng.RngDevice;
import dev.vmm4j.vmm.devices.DeviceContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
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
        return VirtioMmio.of(description, new VirtioMmio.DeviceFactory() {
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

    /** {@return a virtio entropy device fed from the host's secure random source} */
    public static VirtioMmio rng() {
        return VirtioMmio.of(new RngDevice());
    }

    /**
     * {@return a virtio memory balloon; keep it to move it once the VM is built ({@code balloon.setTargetBytes(..)})}
     * The guest's driver may also deflate it when the guest runs out of memory.
     */
    public static VirtioBalloon balloon() {
        return new VirtioBalloon();
    }
}
