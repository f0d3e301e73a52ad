// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What a device process is started with: the device's name (for messages and its threads), the main class that
 * serves it (given the path of the socket to connect to as its one argument), and the host files the jail shows it,
 * at the same paths, read-only or read-write. Nothing else of the host's file system is in the jail but the JDK, the
 * system libraries and the class path.
 *
 * @param device the device's name, such as {@code virtio-blk-0}; the child gets it as {@code -Dvmm4j.device}, and
 *     messages about the process name it
 * @param mainClass the binary name of the class whose {@code main} serves the device, found on the VMM's own class
 *     path (which the jail shows read-only)
 * @param readOnlyPaths host files and directories bound read-only, each at the same path in the jail; copied. One that
 *     does not exist makes bubblewrap, and so the start, fail
 * @param readWritePaths host files and directories bound read-write, each at the same path in the jail; copied
 */
public record DeviceLaunch(String device, String mainClass, List<Path> readOnlyPaths, List<Path> readWritePaths) {
    /** Checks that the names are not null and copies the lists, which must hold no null. */
    public DeviceLaunch {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(mainClass, "mainClass");
        readOnlyPaths = List.copyOf(readOnlyPaths);
        readWritePaths = List.copyOf(readWritePaths);
    }
}
