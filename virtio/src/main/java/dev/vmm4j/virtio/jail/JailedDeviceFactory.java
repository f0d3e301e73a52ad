// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.jail;

import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.vmm.jail.DeviceControl;
import dev.vmm4j.vmm.jail.SyscallPolicy;
import java.io.IOException;
import java.util.Optional;

/**
 * Makes a device inside its device process, from the {@link DeviceRecipe} the VMM sent. The device process makes an
 * instance with the public no-argument constructor of the class the recipe names, calls {@link #create} while the
 * jail's mounts are in place but before Landlock and seccomp close it (so files open here, at the paths the recipe
 * lists), then installs the filter {@link #policy} describes, and only then serves the guest.
 *
 * <p>Implementations need a public no-argument constructor.
 */
public interface JailedDeviceFactory {
    /**
     * {@return the device, made from {@code recipe}} It may take the recipe's fds.
     *
     * @param recipe the recipe the VMM sent, with fds in this process; called before the jail is closed
     * @throws IOException if a file it needs cannot be opened; the message says which and why
     */
    VirtioDevice create(DeviceRecipe recipe) throws IOException;

    /**
     * {@return the system calls the device needs beyond what a JVM serving it does ({@link SyscallPolicy#jvm()})}
     *
     * @param recipe the recipe the device was made from
     */
    SyscallPolicy policy(DeviceRecipe recipe);

    /**
     * {@return whether the device must not run without Landlock} True for a device whose policy lets it open paths (a
     * shared directory): without Landlock, its seccomp filter would not keep it inside the directory it serves, so on a
     * kernel without Landlock it refuses to start. False by default: the namespaces and the filter suffice.
     */
    default boolean needsLandlock() {
        return false;
    }

    /**
     * {@return what answers the VMM's control calls for {@code device} (a balloon's target, say)} None by default: a
     * control call is then refused.
     *
     * @param device the device {@link #create} made
     */
    default Optional<DeviceControl> control(VirtioDevice device) {
        return Optional.empty();
    }
}
