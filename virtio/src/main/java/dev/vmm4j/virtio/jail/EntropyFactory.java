// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.jail;

import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.rng.RngDevice;
import dev.vmm4j.vmm.jail.DeviceControl;
import dev.vmm4j.vmm.jail.SyscallPolicy;
import java.io.IOException;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Optional;

/**
 * Makes a virtio entropy device in a device process ({@code VirtioDevices.rng()}). The VMM can ask it how many bytes
 * it served ({@link #BYTES_SERVED}).
 */
public final class EntropyFactory implements JailedDeviceFactory {
    /** Control call: answers how many bytes the device has given the guest. */
    public static final int BYTES_SERVED = 1;

    /** {@return the recipe of an entropy device} */
    public static DeviceRecipe recipe() {
        return DeviceRecipe.of(EntropyFactory.class, "virtio-rng");
    }

    /** For the device process. */
    public EntropyFactory() {}

    @Override
    public VirtioDevice create(DeviceRecipe recipe) throws IOException {
        // The host's random source opens /dev/urandom when first used: used here, it is open before the jail closes.
        try {
            SecureRandom source = SecureRandom.getInstance("NativePRNGNonBlocking");
            source.nextBytes(new byte[16]);
            return new RngDevice(source);
        } catch (NoSuchAlgorithmException e) {
            throw new IOException("the device process has no NativePRNGNonBlocking random source", e);
        }
    }

    @Override
    public SyscallPolicy policy(DeviceRecipe recipe) {
        return SyscallPolicy.entropy();
    }

    @Override
    public Optional<DeviceControl> control(VirtioDevice device) {
        RngDevice rng = (RngDevice) device;
        return Optional.of((selector, argument) -> {
            if (selector != BYTES_SERVED) {
                throw new IllegalArgumentException("an entropy device has no operation " + selector);
            }
            return rng.bytesServed();
        });
    }
}
