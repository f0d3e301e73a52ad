package dev.vmm4j.virtio.mmio;

import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.vmm.DeviceContext;
import dev.vmm4j.vmm.VirtioMmioWindow;
import dev.vmm4j.vmm.VmDevice;
import dev.vmm4j.vmm.devices.Interrupt;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.kvm.Datamatch;
import dev.vmm4j.vmm.kvm.IoEventAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Puts a {@link VirtioDevice} into a VM behind a virtio-mmio {@link MmioTransport}, as crosvm does: a 4 KiB window
 * and an interrupt line from the VM's allocator, an ioeventfd per queue on QueueNotify (datamatch: the queue index)
 * and an irqfd for the interrupt, so that neither a notification nor an interrupt leaves the kernel; an event loop
 * thread named after the device ({@code virtio-blk-0}, ...) serves its queues; and the window is announced to the
 * guest kernel ({@code virtio_mmio.device=4K@0x...:irq} on x86).
 *
 * <pre>{@code
 * VirtualMachine.builder().kernel(vmlinux).device(VirtioMmio.of(new MyDevice())).build();
 * }</pre>
 *
 * <p>When the VM ends, the loop thread is stopped and joined, then the eventfds are closed, then the device (if it is
 * {@link AutoCloseable}), all before guest memory is unmapped.
 */
public final class VirtioMmio implements VmDevice {
    private final VirtioDevice device;
    private volatile MmioTransport transport;
    private volatile VirtioMmioWindow window;

    private VirtioMmio(VirtioDevice device) {
        this.device = Objects.requireNonNull(device, "device");
    }

    /** {@return {@code device} behind a virtio-mmio transport, ready to be added with {@code builder.device(..)}} */
    public static VirtioMmio of(VirtioDevice device) {
        return new VirtioMmio(device);
    }

    /** {@return the device} */
    public VirtioDevice device() {
        return device;
    }

    /** {@return the transport, once attached} */
    public MmioTransport transport() {
        MmioTransport attached = transport;
        if (attached == null) {
            throw new IllegalStateException(device.name() + " is not attached to a VM yet");
        }
        return attached;
    }

    /** {@return the register window and interrupt line the device got, once attached} */
    public VirtioMmioWindow window() {
        VirtioMmioWindow attached = window;
        if (attached == null) {
            throw new IllegalStateException(device.name() + " is not attached to a VM yet");
        }
        return attached;
    }

    @Override
    public void attach(DeviceContext context) {
        if (transport != null) {
            throw new IllegalStateException(device.name() + " is already attached to a VM");
        }
        if (device instanceof AutoCloseable closeable) {
            context.closeOnExit(closeable); // first, so that it is closed even if attaching fails below
        }
        String role = device.name() + "-" + context.nextInstance(device.name());
        long base = context.allocator().mmio().allocate(MmioRegisters.WINDOW_SIZE, MmioRegisters.WINDOW_SIZE, role);
        int irq = context.allocator().allocateIrq(role);

        EventFd irqfd = EventFd.create();
        context.closeOnExit(irqfd);
        context.vm().registerIrqfd(irqfd, irq);
        List<EventFd> queueEvents = new ArrayList<>();
        int queues = device.queueMaxSizes().length;
        for (int queue = 0; queue < queues; queue++) {
            EventFd event = EventFd.createNonBlocking();
            context.closeOnExit(event);
            context.vm().registerIoevent(event, new IoEventAddress.Mmio(base + MmioRegisters.QUEUE_NOTIFY),
                    Datamatch.of(4, queue));
            queueEvents.add(event);
        }
        EventLoop loop = EventLoop.create(role);
        context.closeOnExit(loop); // closed first: the device's thread stops before anything it uses goes away

        MmioTransport created = new MmioTransport(device, context.memory(), queueEvents, Interrupt.of(irqfd), loop);
        context.mmioBus().insert(created, base, MmioRegisters.WINDOW_SIZE);
        loop.start();
        VirtioMmioWindow announced = new VirtioMmioWindow(base, MmioRegisters.WINDOW_SIZE, irq);
        context.announceVirtioMmio(announced);
        transport = created;
        window = announced;
    }

    @Override
    public String toString() {
        VirtioMmioWindow attached = window;
        return "VirtioMmio[" + device.name() + (attached == null ? "" : " " + attached.commandLineParameter()) + "]";
    }
}
