package dev.vmm4j.vmm;

import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.resources.SystemAllocator;
import java.io.IOException;
import java.util.List;

/**
 * The architecture-specific steps of booting Linux on KVM, in the order {@link VirtualMachine} calls them:
 * {@link #memoryLayout}, {@link #systemAllocator}, {@link #createVm} (before any vCPU), {@link #setupPlatform},
 * {@link #loadKernel}, then {@link #configureVcpu} for each vCPU. Implementations are found with
 * {@link java.util.ServiceLoader}; the one whose {@link #supportsHost()} is true is used unless the embedder names one.
 */
public interface LinuxArch {
    /** {@return the architecture's name, such as {@code x86_64}} */
    String name();

    /** {@return whether this JVM's host is of this architecture} */
    boolean supportsHost();

    /** {@return where {@code memoryBytes} of RAM go in the guest-physical address space} */
    List<RamRegion> memoryLayout(long memoryBytes);

    /** {@return the interrupt lines and address ranges devices may take} */
    SystemAllocator systemAllocator(long memoryBytes);

    /** Creates what the VM needs before its vCPUs (on x86: the in-kernel irqchip, the PIT, the TSS). */
    void createVm(Kvm kvm, Vm vm, int vcpus);

    /** Puts the platform devices (serial console, reset, clock) on the buses. */
    void setupPlatform(Platform platform);

    /** {@return the parameters this architecture puts before the embedder's command line} */
    String baseCommandLine();

    /**
     * {@return the command-line parameters that announce {@code windows} to the kernel} The default is crosvm's
     * {@code virtio_mmio.device=<size>@<base>:<irq>}, one per window; an architecture that describes devices in a
     * device tree instead returns none and reads {@link BootSpec#virtioMmio()} in {@link #loadKernel}.
     */
    default List<String> virtioMmioParameters(List<VirtioMmioWindow> windows) {
        return windows.stream().map(VirtioMmioWindow::commandLineParameter).toList();
    }

    /** {@return the most bytes the command line may have, its NUL included} */
    int commandLineCapacity();

    /**
     * Loads the kernel and initrd into {@code memory} and writes the boot structures.
     * {@return what {@link #configureVcpu} needs to start the vCPUs}
     *
     * @throws IOException if a file cannot be read
     * @throws IllegalArgumentException with the reason, if the kernel or initrd is not loadable
     */
    Object loadKernel(GuestMemory memory, BootSpec spec, String commandLine) throws IOException;

    /** Sets vCPU {@code vcpu} (of {@code spec.vcpus()}) up to boot; {@code boot} is what {@link #loadKernel} returned. */
    void configureVcpu(Kvm kvm, Vm vm, Vcpu vcpu, BootSpec spec, Object boot);

    /**
     * Finishes what needs every vCPU to exist, after {@link #configureVcpu} ran for each (aarch64: initialising the
     * in-kernel GIC). The default does nothing.
     */
    default void afterVcpus(Kvm kvm, Vm vm, List<Vcpu> vcpus) {}

    /** {@return the guest's program counter on {@code vcpu} (x86: RIP), for error reports; call on the vCPU's thread} */
    long programCounter(Vcpu vcpu);
}
