// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.devices;

import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import dev.vmm4j.vmm.kvm.Datamatch;
import dev.vmm4j.vmm.kvm.IoEventAddress;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import dev.vmm4j.vmm.resources.SystemAllocator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadFactory;

/**
 * What a device attaches to while a VM is built (see {@link VmDevice}), described by what a device needs rather than
 * by KVM's handles: guest memory, the buses, the allocator of address ranges and interrupt lines, eventfds wired to
 * interrupt lines and to notification addresses, an event loop and threads the VM runs and stops, a way to announce
 * the device to the guest, and one way to hand over what must be closed with the VM.
 *
 * <p>The architecture's platform devices (serial ports, the i8042, the RTC) attach through the same context, before
 * the devices added to the builder. A test can implement this interface to attach a device without KVM.
 *
 * <h2>Lifetimes</h2>
 * Everything a context makes ({@link #irqfd}, {@link #ioeventfd}, {@link #eventLoop}) and everything handed to
 * {@link #closeOnExit} is closed once when the VM is closed (not when it merely ends: a VM that ended is still there to
 * be looked at), in reverse order, after every vCPU thread and every event loop has stopped and before guest memory is
 * unmapped. So a device's own threads must be event loops or threads from
 * {@link #threadFactory()}, or be stopped by a close registered here.
 *
 * <p><b>Thread safety:</b> used while the VM is being built, on the thread that builds it; {@link #requestExit} and the
 * thread factory are safe from any thread at any time.
 */
public interface DeviceContext {
    /** {@return the guest's memory} */
    GuestMemory memory();

    /**
     * {@return how the VM jails devices that can run in processes of their own, if it does} (see
     * {@code VirtualMachineBuilder.sandbox}); empty by default: every device runs in the VMM's process.
     */
    default Optional<DeviceSandbox> sandbox() {
        return Optional.empty();
    }

    /**
     * {@return guest memory as regions another process can map (memfds); empty by default} A VM with a
     * {@linkplain #sandbox() sandbox} has all its memory so.
     */
    default List<GuestMemoryMmap.SharedRegion> sharedMemory() {
        return List.of();
    }

    /** {@return the port-I/O bus (x86; on other architectures nothing dispatches to it)} */
    Bus ioBus();

    /** {@return the MMIO bus} */
    Bus mmioBus();

    /** {@return the allocator of interrupt lines and address ranges} */
    SystemAllocator allocator();

    /**
     * {@return an eventfd that raises an edge on interrupt line {@code line} when written (a KVM irqfd)} The VM owns it;
     * {@code dev.vmm4j.vmm.devices.Interrupt.of(eventFd)} makes an {@link Interrupt} of it.
     *
     * @param line the interrupt line (GSI), normally one the device took from {@link #allocator()}
     * @throws dev.vmm4j.vmm.kvm.KvmException if KVM refuses to register it
     */
    EventFd irqfd(int line);

    /**
     * {@return a non-blocking eventfd that a guest write to {@code address} accepted by {@code datamatch} signals
     * without leaving the kernel (a KVM ioeventfd)} The VM owns it.
     *
     * @param address the port or guest-physical address the guest writes, such as a virtio-mmio queue-notify register
     * @param datamatch which writes there signal it: {@link Datamatch#any()}, or only one length and value
     * @throws dev.vmm4j.vmm.kvm.KvmException if KVM refuses to register it
     */
    EventFd ioeventfd(IoEventAddress address, Datamatch datamatch);

    /**
     * {@return a new event loop that the VM runs on a platform thread named {@code name} from {@code start()} until
     * it ends} The VM owns it. If the loop's thread dies of anything (an {@link Error} a subscriber throws included),
     * the VM ends with an {@link ExitStatus.Failure} that names the thread.
     *
     * @param name the loop's thread name, such as the device's {@link #instanceName}
     */
    EventLoop eventLoop(String name);

    /**
     * {@return a factory of daemon platform threads for the device's own work} If such a thread ends with an
     * exception or error, the VM ends with an {@link ExitStatus.Failure} that names the thread. The VM does not join
     * them: a device stops its threads in a close it registers with {@link #closeOnExit}.
     */
    ThreadFactory threadFactory();

    /**
     * {@return a name for the next device of {@code kind}: {@code kind-0} for the first, {@code kind-1} next, ...}
     *
     * @param kind the kind of device, such as {@code virtio-blk}; each kind is counted on its own, within this VM
     */
    String instanceName(String kind);

    /**
     * Tells the guest about a device, in the way the architecture's guests discover devices.
     *
     * @param node where the device is and what it is; the guest learns of nodes in the order announced
     * @throws IllegalStateException if the kernel is already loaded: devices announce themselves in {@link
     *     VmDevice#attach}, while the VM is built
     */
    void announce(DeviceNode node);

    /**
     * Closes {@code resource} when the VM is closed (see the class comment for when).
     *
     * @param resource closed once, after what was registered later and before what was registered earlier; a failure to
     *     close it does not stop the others being closed
     */
    void closeOnExit(AutoCloseable resource);

    /**
     * Ends the VM with {@code status}, as a guest reset through a platform device does ({@link ExitStatus.GuestReset})
     * or a device that cannot go on ({@link ExitStatus.Failure}); returns at once. The first reason a VM ends for wins.
     *
     * @param status why the VM ends; ignored if it has already ended
     */
    void requestExit(ExitStatus status);
}
