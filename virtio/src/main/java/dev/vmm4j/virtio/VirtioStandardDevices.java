package dev.vmm4j.virtio;

import dev.vmm4j.virtio.balloon.BalloonDevice;
import dev.vmm4j.virtio.block.BlockDevice;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.virtio.rng.RngDevice;
import dev.vmm4j.vmm.StandardDevices;
import dev.vmm4j.vmm.VmDevice;
import java.nio.file.Path;

/**
 * The devices {@code VirtualMachineBuilder.disk(..)}, {@code .rng()} and {@code .balloon()} add: virtio block, rng and
 * balloon over virtio-mmio.
 * Found by {@link java.util.ServiceLoader}; not for direct use.
 */
public final class VirtioStandardDevices implements StandardDevices {
    /** Made by {@link java.util.ServiceLoader}. */
    public VirtioStandardDevices() {}

    @Override
    public VmDevice disk(Path image, boolean readOnly) {
        // The image is opened and locked when the VM is built, so a locked image fails build() with the reason.
        return context -> VirtioMmio.of(BlockDevice.open(image, readOnly)).attach(context);
    }

    @Override
    public VmDevice rng() {
        return context -> VirtioMmio.of(new RngDevice()).attach(context);
    }

    @Override
    public VmDevice balloon() {
        return context -> {
            BalloonDevice balloon = new BalloonDevice(context.memory().totalSize());
            VirtioMmio.of(balloon).attach(context);
            context.provideBalloon(balloon);
        };
    }
}
