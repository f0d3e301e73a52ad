// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.balloon;

import java.io.IOException;

/**
 * Where a {@link BalloonPolicy} learns whether the host needs memory back. {@link LinuxMemoryPressure} reads
 * Linux's pressure stall information, or MemAvailable where that is missing; tests give a fake.
 */
@FunctionalInterface
public interface MemoryPressureSource {
    /**
     * {@return the host's memory state now}
     *
     * @throws IOException if the host cannot be read
     */
    MemoryPressure sample() throws IOException;
}
