// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.testing;

import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.devices.DeviceContext;
import dev.vmm4j.vmm.devices.DeviceNode;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.kvm.Datamatch;
import dev.vmm4j.vmm.kvm.IoEventAddress;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.resources.SystemAllocator;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;

/**
 * A {@link DeviceContext} without KVM, for attaching devices in a test: real buses, memory and allocator; eventfds that
 * are real but wired to nothing (the lines and addresses asked for are recorded); event loops that are made but not
 * started; and a record of what was announced, registered to close, and asked of the VM. {@link #close()} closes what
 * was registered, in reverse order, as a VM does.
 */
public final class RecordingDeviceContext implements DeviceContext, AutoCloseable {
    private final GuestMemory memory;
    private final SystemAllocator allocator;
    private final Bus ioBus = new Bus("io");
    private final Bus mmioBus = new Bus("mmio");
    /** The interrupt lines irqfds were asked for, in order. */
    private final List<Integer> irqfdLines = new ArrayList<>();
    /** The notification addresses ioeventfds were asked for, in order. */
    private final List<IoEventAddress> ioeventAddresses = new ArrayList<>();
    /** What the devices announced, in order. */
    private final List<DeviceNode> announced = new ArrayList<>();
    /** What the devices asked the VM to end with, in order. */
    private final List<ExitStatus> exitRequests = new ArrayList<>();

    private final List<AutoCloseable> resources = new ArrayList<>();
    private final Map<String, Integer> instances = new HashMap<>();

    /** A context over {@code memory} (the caller's to close) with {@code allocator}'s pools. */
    public RecordingDeviceContext(GuestMemory memory, SystemAllocator allocator) {
        this.memory = Objects.requireNonNull(memory, "memory");
        this.allocator = Objects.requireNonNull(allocator, "allocator");
    }

    @Override
    public GuestMemory memory() {
        return memory;
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
    public synchronized EventFd irqfd(int line) {
        irqfdLines.add(line);
        EventFd event = EventFd.create();
        resources.add(event);
        return event;
    }

    @Override
    public synchronized EventFd ioeventfd(IoEventAddress address, Datamatch datamatch) {
        ioeventAddresses.add(address);
        EventFd event = EventFd.createNonBlocking();
        resources.add(event);
        return event;
    }

    @Override
    public synchronized EventLoop eventLoop(String name) {
        EventLoop loop = EventLoop.create(name);
        resources.add(loop);
        return loop;
    }

    @Override
    public ThreadFactory threadFactory() {
        return Thread.ofPlatform().daemon().factory();
    }

    @Override
    public synchronized String instanceName(String kind) {
        return kind + "-" + (instances.merge(kind, 1, Integer::sum) - 1);
    }

    @Override
    public synchronized void announce(DeviceNode node) {
        announced.add(Objects.requireNonNull(node, "node"));
    }

    @Override
    public synchronized void closeOnExit(AutoCloseable resource) {
        resources.add(Objects.requireNonNull(resource, "resource"));
    }

    @Override
    public synchronized void requestExit(ExitStatus status) {
        exitRequests.add(Objects.requireNonNull(status, "status"));
    }

    /** {@return the interrupt lines irqfds were asked for, in order} */
    public synchronized List<Integer> irqfdLines() {
        return List.copyOf(irqfdLines);
    }

    /** {@return the notification addresses ioeventfds were asked for, in order} */
    public synchronized List<IoEventAddress> ioeventAddresses() {
        return List.copyOf(ioeventAddresses);
    }

    /** {@return what the devices announced, in order} */
    public synchronized List<DeviceNode> announced() {
        return List.copyOf(announced);
    }

    /** {@return what the devices asked the VM to end with, in order} */
    public synchronized List<ExitStatus> exitRequests() {
        return List.copyOf(exitRequests);
    }

    /** Closes what was registered, last first. */
    @Override
    public synchronized void close() throws Exception {
        Exception failure = null;
        for (AutoCloseable resource : resources.reversed()) {
            try {
                resource.close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        resources.clear();
        if (failure != null) {
            throw failure;
        }
    }
}
