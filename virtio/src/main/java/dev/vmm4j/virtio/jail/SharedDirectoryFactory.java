// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.jail;

import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.p9.P9Device;
import dev.vmm4j.vmm.jail.SyscallPolicy;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Makes a virtio-9p device in a device process ({@code VirtioDevices.sharedDirectory(..)}). The jail shows the shared
 * directory at its path, read-only if the share is, and Landlock confines the process to it.
 */
public final class SharedDirectoryFactory implements JailedDeviceFactory {
    /**
     * {@return the recipe of a device sharing {@code source} as {@code tag}}
     *
     * @param source the host directory; made absolute and shown in the jail at that path
     * @param tag the guest's mount tag; checked only when the device process makes the device
     * @param readOnly whether the guest may only read; the directory is then shown read-only
     */
    public static DeviceRecipe recipe(Path source, String tag, boolean readOnly) {
        Path absolute = source.toAbsolutePath().normalize();
        DeviceRecipe recipe = DeviceRecipe.of(SharedDirectoryFactory.class, "virtio-9p")
                .with("source", absolute.toString())
                .with("tag", tag)
                .with("readOnly", Boolean.toString(readOnly));
        return readOnly ? recipe.withReadOnly(absolute) : recipe.withReadWrite(absolute);
    }

    /** For the device process. */
    public SharedDirectoryFactory() {}

    @Override
    public VirtioDevice create(DeviceRecipe recipe) throws IOException {
        return P9Device.open(
                Path.of(recipe.required("source")),
                recipe.required("tag"),
                Boolean.parseBoolean(recipe.required("readOnly")));
    }

    /** The 9P server opens paths (openat2 below its root): only Landlock keeps that inside the share. */
    @Override
    public boolean needsLandlock() {
        return true;
    }

    @Override
    public SyscallPolicy policy(DeviceRecipe recipe) {
        return SyscallPolicy.sharedDirectory();
    }
}
