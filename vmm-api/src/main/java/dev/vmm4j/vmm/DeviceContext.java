package dev.vmm4j.vmm;

import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.resources.SystemAllocator;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a {@link VmDevice} attaches to: the VM (for irqfds and ioeventfds), guest memory, the buses, the allocator
 * for address ranges and interrupt lines, a place to leave what must be closed when the VM ends, and a way to tell
 * the guest kernel about a virtio-mmio window.
 *
 * <p>What a device {@linkplain #closeOnExit registers to close} is closed in reverse order after every vCPU thread
 * has stopped and before guest memory is unmapped, so a device thread closed there may still touch guest memory
 * until its close returns.
 *
 * <p><b>Thread safety:</b> not thread-safe; used only while the VM is being built.
 */
public final class DeviceContext {
    private final Vm vm;
    private final GuestMemory memory;
    private final Bus ioBus;
    private final Bus mmioBus;
    private final SystemAllocator allocator;
    private final List<AutoCloseable> resources;
    private final List<VirtioMmioWindow> virtioMmio = new ArrayList<>();
    private final Map<String, Integer> instances = new HashMap<>();
    private Balloon balloon;

    DeviceContext(Vm vm, GuestMemory memory, Bus ioBus, Bus mmioBus, SystemAllocator allocator, List<AutoCloseable> resources) {
        this.vm = vm;
        this.memory = memory;
        this.ioBus = ioBus;
        this.mmioBus = mmioBus;
        this.allocator = allocator;
        this.resources = resources;
    }

    /** {@return the VM, for irqfds and ioeventfds} */
    public Vm vm() {
        return vm;
    }

    /** {@return the guest's memory} */
    public GuestMemory memory() {
        return memory;
    }

    /** {@return the port-I/O bus (x86 only; empty elsewhere)} */
    public Bus ioBus() {
        return ioBus;
    }

    /** {@return the MMIO bus} */
    public Bus mmioBus() {
        return mmioBus;
    }

    /** {@return the allocator of interrupt lines and address ranges} */
    public SystemAllocator allocator() {
        return allocator;
    }

    /** Closes {@code resource} when the VM ends (see the class comment for when). */
    public void closeOnExit(AutoCloseable resource) {
        resources.add(Objects.requireNonNull(resource, "resource"));
    }

    /** Tells the guest kernel about a virtio-mmio device (x86: on the command line; aarch64: in the device tree). */
    public void announceVirtioMmio(VirtioMmioWindow window) {
        virtioMmio.add(Objects.requireNonNull(window, "window"));
    }

    /**
     * Offers {@code device} as the VM's {@link VirtualMachine#balloon()}.
     *
     * @throws IllegalStateException if another device already did: a VM has one balloon
     */
    public void provideBalloon(Balloon device) {
        if (balloon != null) {
            throw new IllegalStateException("a VM has one balloon, and " + balloon + " was added first");
        }
        balloon = Objects.requireNonNull(device, "device");
    }

    /** {@return 0 for the first device of {@code kind} (such as {@code "virtio-blk"}), 1 for the next, ...; for thread names} */
    public int nextInstance(String kind) {
        return instances.merge(kind, 1, Integer::sum) - 1;
    }

    Balloon balloon() {
        return balloon;
    }

    List<VirtioMmioWindow> virtioMmioWindows() {
        return List.copyOf(virtioMmio);
    }
}
