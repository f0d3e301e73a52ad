package dev.vmm4j.vmm;

import dev.vmm4j.vmm.kvm.CpuidEntry;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * What a VM boots, as the builder validated it: the kernel and initrd files, the command line the embedder gave
 * (the architecture adds its own parameters first), the vCPU count, whether a compressed kernel is decompressed on
 * the host, the embedder's CPUID customiser (applied last, on x86; ignored elsewhere), and the virtio-mmio windows
 * the devices announced (which an architecture without a command-line syntax for them puts in its device tree).
 */
public record BootSpec(Path kernel, Optional<Path> initrd, String commandLine, int vcpus, boolean hostDecompression,
        UnaryOperator<CpuidEntry> cpuidCustomiser, List<VirtioMmioWindow> virtioMmio) {
    /** Copies the window list. */
    public BootSpec {
        virtioMmio = List.copyOf(virtioMmio);
    }

    /** {@return this spec with {@code windows} as its virtio-mmio windows} */
    public BootSpec withVirtioMmio(List<VirtioMmioWindow> windows) {
        return new BootSpec(kernel, initrd, commandLine, vcpus, hostDecompression, cpuidCustomiser, windows);
    }
}
