package dev.vmm4j.vmm;

import dev.vmm4j.vmm.kvm.CpuidEntry;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * What a VM boots, as the builder validated it: the kernel and initrd files, the command line the embedder gave
 * (the architecture adds its own parameters first), the vCPU count, whether a compressed kernel is decompressed on
 * the host, and the embedder's CPUID customiser (applied last, on x86; ignored elsewhere).
 */
public record BootSpec(Path kernel, Optional<Path> initrd, String commandLine, int vcpus, boolean hostDecompression,
        UnaryOperator<CpuidEntry> cpuidCustomiser) {}
