// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.devices;

import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.balloon.Balloon;
import dev.vmm4j.virtio.balloon.BalloonDevice;
import dev.vmm4j.virtio.jail.BalloonFactory;
import dev.vmm4j.virtio.jail.DeviceRecipe;
import dev.vmm4j.virtio.jail.JailedAttachment;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.vmm.devices.DeviceContext;
import dev.vmm4j.vmm.devices.VmDevice;
import java.io.IOException;
import java.util.Optional;

/**
 * The virtio memory balloon as a device to add to a VM and a handle to move it by: {@link VirtioDevices#balloon()}
 * makes one; add it with {@code builder.device(balloon)}; once the VM is built, {@link #setTargetBytes} asks the guest
 * to give memory back. The {@link BalloonDevice} behind it is sized to the VM's memory when the VM is built.
 *
 * <p>In a VM with a device sandbox the device runs in a device process, and the {@link Balloon} methods reach it
 * there; a refused target is then a {@code DeviceProcessException}.
 *
 * <p><b>Thread safety:</b> the {@link Balloon} methods are safe from any thread once the VM is built.
 */
public final class VirtioBalloon implements VmDevice, Balloon {
    private final VirtioMmio mmio = VirtioMmio.of("virtio-balloon", new VirtioMmio.JailableFactory() {
        @Override
        public Optional<DeviceRecipe> recipe(DeviceContext context) {
            memoryBytes = context.memory().totalSize();
            return Optional.of(BalloonFactory.recipe(memoryBytes));
        }

        @Override
        public VirtioDevice create(DeviceContext context) {
            return new BalloonDevice(context.memory().totalSize());
        }
    });

    /** The guest's memory, for checking what a device process answers; set when the VM is built. */
    private volatile long memoryBytes;

    VirtioBalloon() {}

    /**
     * {@return the balloon device}
     *
     * @throws IllegalStateException if the VM it was added to is not built yet, or the device runs in a device process
     *     (the {@link Balloon} methods work either way)
     */
    public BalloonDevice device() {
        return (BalloonDevice) mmio.device();
    }

    /** {@return the virtio-mmio transport and window it sits behind} */
    public VirtioMmio mmio() {
        return mmio;
    }

    /** @throws IllegalStateException if the VM it was added to is not built yet */
    @Override
    public void setTargetBytes(long bytes) {
        Optional<JailedAttachment> jailed = mmio.jailed();
        if (jailed.isPresent()) {
            jailed.get().proxy().control(BalloonFactory.SET_TARGET, bytes);
        } else {
            device().setTargetBytes(bytes);
        }
    }

    /** @throws IllegalStateException if the VM it was added to is not built yet */
    @Override
    public long targetBytes() {
        Optional<JailedAttachment> jailed = mmio.jailed();
        return jailed.isPresent() ? jailed.get().proxy().control(BalloonFactory.TARGET, 0) : device().targetBytes();
    }

    /** @throws IllegalStateException if the VM it was added to is not built yet */
    @Override
    public long actualBytes() {
        Optional<JailedAttachment> jailed = mmio.jailed();
        return jailed.isPresent() ? jailed.get().proxy().control(BalloonFactory.ACTUAL, 0) : device().actualBytes();
    }

    @Override
    public void attach(DeviceContext context) throws IOException {
        mmio.attach(context);
    }

    @Override
    public void close() {
        mmio.close();
    }

    @Override
    public String toString() {
        return mmio.toString();
    }
}
