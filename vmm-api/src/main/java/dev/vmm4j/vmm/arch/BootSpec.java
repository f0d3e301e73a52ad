// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.arch;

import dev.vmm4j.vmm.kvm.CpuidEntry;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * What a VM boots, as the builder validated it: the kernel and initrd files, the command-line parameters the embedder
 * gave (the architecture puts its own, and those announcing devices, first), whether a compressed kernel is
 * decompressed on the host, the embedder's CPUID customiser (applied last, on x86; ignored elsewhere), and how the
 * kernel learns of the devices.
 */
public record BootSpec(
        Path kernel,
        Optional<Path> initrd,
        String commandLine,
        boolean hostDecompression,
        UnaryOperator<CpuidEntry> cpuidCustomiser,
        DeviceAnnouncement deviceAnnouncement) {
    /** Checks the arguments. */
    public BootSpec {
        Objects.requireNonNull(deviceAnnouncement, "deviceAnnouncement");
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initrd, "initrd");
        Objects.requireNonNull(commandLine, "commandLine");
        Objects.requireNonNull(cpuidCustomiser, "cpuidCustomiser");
    }

    /**
     * {@return a spec for {@code kernel} alone: no initrd, no parameters, host decompression, CPUID as filtered,
     * devices announced by the firmware tables}
     */
    public static BootSpec of(Path kernel) {
        return new BootSpec(kernel, Optional.empty(), "", true, UnaryOperator.identity(), DeviceAnnouncement.FIRMWARE);
    }
}
