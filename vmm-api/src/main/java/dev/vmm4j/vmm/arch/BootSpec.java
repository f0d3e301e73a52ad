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
 *
 * @param kernel the kernel file, in a format the architecture loads (x86_64: ELF vmlinux or bzImage; aarch64:
 *     {@code Image}); read when the VM boots
 * @param initrd the initial ramdisk file, copied into guest memory as it is, if any
 * @param commandLine the embedder's parameters, possibly empty; they go last on the kernel command line
 * @param hostDecompression whether a compressed kernel (bzImage) is decompressed on the host rather than by the guest
 * @param cpuidCustomiser applied last to every CPUID entry of every vCPU on x86; {@link UnaryOperator#identity()} for
 *     none
 * @param deviceAnnouncement how the kernel learns of the devices
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
     *
     * @param kernel the kernel file; not null
     */
    public static BootSpec of(Path kernel) {
        return new BootSpec(kernel, Optional.empty(), "", true, UnaryOperator.identity(), DeviceAnnouncement.FIRMWARE);
    }
}
