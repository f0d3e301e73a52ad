// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.jail;

import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.vsock.VsockConfig;
import dev.vmm4j.virtio.vsock.VsockDevice;
import dev.vmm4j.vmm.jail.SyscallPolicy;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Makes a virtio socket device over a host unix socket in a device process ({@code VirtioDevices.vsock(..)} with
 * {@code withUnixSocket}). The jail shows the socket's directory read-write: the device makes its socket there and
 * connects to {@code <path>_<port>} for the guest's connections. A device with a {@code VsockHost} (channels in the
 * VMM's JVM) or vhost-vsock does not run in a device process.
 */
public final class VsockFactory implements JailedDeviceFactory {
    /** {@return the recipe of a vsock device for guest CID {@code cid} with its socket at {@code socket}} */
    public static DeviceRecipe recipe(long cid, Path socket) {
        Path absolute = socket.toAbsolutePath().normalize();
        return DeviceRecipe.of(VsockFactory.class, "virtio-vsock")
                .with("cid", Long.toString(cid))
                .with("socket", absolute.toString())
                .withReadWrite(absolute.getParent());
    }

    /** For the device process. */
    public VsockFactory() {}

    @Override
    public VirtioDevice create(DeviceRecipe recipe) throws IOException {
        return VsockDevice.open(VsockConfig.of(Long.parseLong(recipe.required("cid")))
                .withUnixSocket(Path.of(recipe.required("socket"))));
    }

    @Override
    public SyscallPolicy policy(DeviceRecipe recipe) {
        return SyscallPolicy.vsockDevice();
    }
}
