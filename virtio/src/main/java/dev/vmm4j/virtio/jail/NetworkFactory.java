// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.jail;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.net.MacAddress;
import dev.vmm4j.virtio.net.NetDevice;
import dev.vmm4j.virtio.net.Tap;
import dev.vmm4j.vmm.jail.SyscallPolicy;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.util.Optional;

/**
 * Makes a virtio network device in a device process ({@code VirtioDevices.net(..)}, without vhost-net). The VMM makes
 * or adopts the tap (that needs privileges the device process lacks) and passes its fd; the device process only reads
 * and writes frames on it.
 */
public final class NetworkFactory implements JailedDeviceFactory {
    /**
     * {@return the recipe of a network device over {@code tap}} The recipe gets a duplicate of the tap's fd; the
     * caller still owns (and closes) {@code tap}.
     *
     * @param tap the tap the VMM made or adopted, already configured; its fd is duplicated now
     * @param mac the guest's MAC address, or empty to let the guest's driver pick one
     * @throws IllegalStateException if the tap's fd cannot be duplicated
     */
    public static DeviceRecipe recipe(Tap tap, Optional<MacAddress> mac) {
        DeviceRecipe recipe = DeviceRecipe.of(NetworkFactory.class, "virtio-net")
                .withDuplicateOf(tap.fd(), "the fd of " + tap.name());
        return mac.isPresent() ? recipe.with("mac", mac.get().toString()) : recipe;
    }

    /** For the device process. */
    public NetworkFactory() {}

    @Override
    public VirtioDevice create(DeviceRecipe recipe) throws IOException {
        if (recipe.fds().size() != 1) {
            throw new IllegalArgumentException("a network device's recipe carries one tap fd, not "
                    + recipe.fds().size());
        }
        try (OwnedFd fd = recipe.fds().getFirst()) {
            // Tap.adopt takes inherited fds, which are not close-on-exec; this one came in a message and is.
            Libc.fcntl(fd.get(), LinuxHeaders.F_SETFD(), 0);
            Tap tap = Tap.adopt(fd.get()); // works on a duplicate
            return new NetDevice(tap, recipe.setting("mac").map(MacAddress::parse));
        }
    }

    @Override
    public SyscallPolicy policy(DeviceRecipe recipe) {
        return SyscallPolicy.networkDevice();
    }
}
