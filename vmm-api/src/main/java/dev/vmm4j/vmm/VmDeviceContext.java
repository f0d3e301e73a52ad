// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.devices.DeviceContext;
import dev.vmm4j.vmm.devices.DeviceNode;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import dev.vmm4j.vmm.kvm.Datamatch;
import dev.vmm4j.vmm.kvm.IoEventAddress;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import dev.vmm4j.vmm.resources.SystemAllocator;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadFactory;
import java.util.function.Consumer;

/**
 * The {@link DeviceContext} a {@link VirtualMachine} gives its architecture's platform devices and the embedder's
 * devices: eventfds registered with its KVM VM, event loops it runs, and the one list of what it closes.
 *
 * <p><b>Thread safety:</b> safe for concurrent use (devices are attached on one thread; {@link #requestExit} and the
 * thread factory are used from any).
 */
final class VmDeviceContext implements DeviceContext {
    private final Vm vm;
    private final GuestMemory memory;
    private final Bus ioBus;
    private final Bus mmioBus;
    private final SystemAllocator allocator;
    private final ThreadFactory threads;
    private final Consumer<ExitStatus> exit;
    private final Optional<DeviceSandbox> sandbox;
    // Guarded by this.
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final List<EventLoop> loops = new ArrayList<>();
    private final List<DeviceNode> nodes = new ArrayList<>();
    private final Map<String, Integer> instances = new HashMap<>();
    private boolean announcing = true;

    VmDeviceContext(
            Vm vm,
            GuestMemory memory,
            Bus ioBus,
            Bus mmioBus,
            SystemAllocator allocator,
            ThreadFactory threads,
            Consumer<ExitStatus> exit,
            Optional<DeviceSandbox> sandbox) {
        this.vm = vm;
        this.memory = memory;
        this.ioBus = ioBus;
        this.mmioBus = mmioBus;
        this.allocator = allocator;
        this.threads = threads;
        this.exit = exit;
        this.sandbox = sandbox;
    }

    @Override
    public GuestMemory memory() {
        return memory;
    }

    @Override
    public Optional<DeviceSandbox> sandbox() {
        return sandbox;
    }

    @Override
    public List<GuestMemoryMmap.SharedRegion> sharedMemory() {
        return memory instanceof GuestMemoryMmap mapped ? mapped.sharedRegions() : List.of();
    }

    @Override
    public Bus ioBus() {
        return ioBus;
    }

    @Override
    public Bus mmioBus() {
        return mmioBus;
    }

    @Override
    public SystemAllocator allocator() {
        return allocator;
    }

    @Override
    public EventFd irqfd(int line) {
        EventFd event = EventFd.create();
        closeOnExit(event); // first: a registration that fails still leaves it to be closed
        vm.registerIrqfd(event, line);
        return event;
    }

    @Override
    public EventFd ioeventfd(IoEventAddress address, Datamatch datamatch) {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(datamatch, "datamatch");
        EventFd event = EventFd.createNonBlocking();
        closeOnExit(event);
        vm.registerIoevent(event, address, datamatch);
        return event;
    }

    @Override
    public synchronized EventLoop eventLoop(String name) {
        EventLoop loop = EventLoop.create(name);
        loops.add(loop);
        resources.add(loop);
        return loop;
    }

    @Override
    public ThreadFactory threadFactory() {
        return threads;
    }

    @Override
    public synchronized String instanceName(String kind) {
        Objects.requireNonNull(kind, "kind");
        return kind + "-" + (instances.merge(kind, 1, Integer::sum) - 1);
    }

    @Override
    public synchronized void announce(DeviceNode node) {
        Objects.requireNonNull(node, "node");
        if (!announcing) {
            throw new IllegalStateException(
                    "the kernel is already loaded: devices announce themselves while the VM is built");
        }
        nodes.add(node);
    }

    @Override
    public synchronized void closeOnExit(AutoCloseable resource) {
        resources.add(Objects.requireNonNull(resource, "resource"));
    }

    @Override
    public void requestExit(ExitStatus status) {
        exit.accept(Objects.requireNonNull(status, "status"));
    }

    /** {@return what the devices announced, in order; no more announcements are taken after this} */
    synchronized List<DeviceNode> takeNodes() {
        announcing = false;
        return List.copyOf(nodes);
    }

    synchronized List<EventLoop> loops() {
        return List.copyOf(loops);
    }

    /** {@return what to close, in the order it was registered} */
    synchronized List<AutoCloseable> resources() {
        return List.copyOf(resources);
    }
}
