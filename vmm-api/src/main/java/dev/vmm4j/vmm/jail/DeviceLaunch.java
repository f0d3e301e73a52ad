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
 */
public record DeviceLaunch(String device, String mainClass, List<Path> readOnlyPaths, List<Path> readWritePaths) {
    public DeviceLaunch {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(mainClass, "mainClass");
        readOnlyPaths = List.copyOf(readOnlyPaths);
        readWritePaths = List.copyOf(readWritePaths);
    }
}
