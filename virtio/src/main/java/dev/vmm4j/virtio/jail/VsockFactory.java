// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.jail;

import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.vsock.VsockBroker;
import dev.vmm4j.virtio.vsock.VsockDevice;
import dev.vmm4j.vmm.jail.FdSocket;
import dev.vmm4j.vmm.jail.SyscallPolicy;
import java.nio.file.Path;

/**
 * Makes a virtio socket device over a host unix socket in a device process ({@code VirtioDevices.vsock(..)} with
 * {@code withUnixSocket}). The VMM owns the socket and makes the connections to {@code <path>_<port>}
 * ({@link VsockBroker}): the device process gets the listening socket and the broker's socket pair as fds, no file
 * system and no way to create or connect a socket of its own. A device with a {@code VsockHost} (channels in the VMM's
 * JVM) or vhost-vsock does not run in a device process.
 */
public final class VsockFactory implements JailedDeviceFactory {
    /**
     * {@return the recipe of a vsock device for guest CID {@code cid} whose socket {@code broker} owns} The recipe gets
     * duplicates of the broker's listening socket and of its device end.
     *
     * @param cid the guest's context ID, checked only when the device process makes the device
     * @param socket the host unix socket's path (connections to port P go to {@code <socket>_<port>}); made absolute
     * @param broker the VMM's broker, which keeps owning its sockets
     * @throws IllegalStateException if a socket cannot be duplicated
     */
    public static DeviceRecipe recipe(long cid, Path socket, VsockBroker broker) {
        return DeviceRecipe.of(VsockFactory.class, "virtio-vsock")
                .with("cid", Long.toString(cid))
                .with("socket", socket.toAbsolutePath().normalize().toString())
                .withDuplicateOf(broker.listener(), "the vsock listener")
                .withDuplicateOf(broker.deviceEnd().fd(), "the vsock broker's socket");
    }

    /** For the device process. */
    public VsockFactory() {}

    @Override
    public VirtioDevice create(DeviceRecipe recipe) {
        if (recipe.fds().size() != 2) {
            throw new IllegalArgumentException("a vsock device's recipe carries its listener and broker fds, not "
                    + recipe.fds().size() + " fds");
        }
        // The broker's socket lives as long as this process: the device asks it for every guest connection.
        FdSocket broker = FdSocket.adopt(recipe.fds().get(1).release(), "vsock broker");
        return VsockDevice.adopt(
                Long.parseLong(recipe.required("cid")),
                Path.of(recipe.required("socket")),
                recipe.fds().getFirst(),
                broker);
    }

    @Override
    public SyscallPolicy policy(DeviceRecipe recipe) {
        return SyscallPolicy.vsockDevice();
    }
}
