// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.jail;

import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.balloon.BalloonDevice;
import dev.vmm4j.vmm.jail.DeviceControl;
import dev.vmm4j.vmm.jail.SyscallPolicy;
import java.util.Optional;

/**
 * Makes a virtio memory balloon in a device process ({@code VirtioDevices.balloon()}). Guest memory is a memfd there,
 * so the pages the guest gives back are freed for both processes (MADV_REMOVE). The VMM moves the balloon through
 * control calls: {@link #SET_TARGET}, {@link #TARGET}, {@link #ACTUAL}.
 */
public final class BalloonFactory implements JailedDeviceFactory {
    /** Control call: set the target to the argument, in bytes; answers 0. */
    public static final int SET_TARGET = 1;
    /** Control call: answers the target in bytes. */
    public static final int TARGET = 2;
    /** Control call: answers how many bytes the guest has given back. */
    public static final int ACTUAL = 3;

    /**
     * {@return the recipe of a balloon for a guest of {@code guestMemoryBytes}}
     *
     * @param guestMemoryBytes the guest's RAM in bytes, which caps the balloon; checked (positive) only when the
     *     device process makes the device
     */
    public static DeviceRecipe recipe(long guestMemoryBytes) {
        return DeviceRecipe.of(BalloonFactory.class, "virtio-balloon")
                .with("guestMemoryBytes", Long.toString(guestMemoryBytes));
    }

    /** For the device process. */
    public BalloonFactory() {}

    @Override
    public VirtioDevice create(DeviceRecipe recipe) {
        return new BalloonDevice(Long.parseLong(recipe.required("guestMemoryBytes")));
    }

    @Override
    public SyscallPolicy policy(DeviceRecipe recipe) {
        return SyscallPolicy.balloon();
    }

    @Override
    public Optional<DeviceControl> control(VirtioDevice device) {
        BalloonDevice balloon = (BalloonDevice) device;
        return Optional.of((selector, argument) -> switch (selector) {
            case SET_TARGET -> {
                balloon.setTargetBytes(argument);
                yield 0;
            }
            case TARGET -> balloon.targetBytes();
            case ACTUAL -> balloon.actualBytes();
            default -> throw new IllegalArgumentException("a balloon has no operation " + selector);
        });
    }
}
