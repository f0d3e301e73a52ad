// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.mmio;

import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.jail.DeviceRecipe;
import dev.vmm4j.virtio.jail.JailedAttachment;
import dev.vmm4j.vmm.devices.DeviceContext;
import dev.vmm4j.vmm.devices.DeviceNode;
import dev.vmm4j.vmm.devices.Interrupt;
import dev.vmm4j.vmm.devices.VmDevice;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import dev.vmm4j.vmm.kvm.Datamatch;
import dev.vmm4j.vmm.kvm.IoEventAddress;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Puts a {@link VirtioDevice} into a VM behind a virtio-mmio {@link MmioTransport}, as crosvm does: a 4 KiB window
 * and an interrupt line from the VM's allocator, an ioeventfd per queue on QueueNotify (datamatch: the queue index)
 * and an irqfd for the interrupt, so that neither a notification nor an interrupt leaves the kernel; an event loop
 * thread named after the device ({@code virtio-blk-0}, ...) serves its queues; and the window is announced to the
 * guest as a {@value #COMPATIBLE} device (x86 puts {@code virtio_mmio.device=4K@0x...:irq} on the command line,
 * aarch64 a node in the device tree).
 *
 * <pre>{@code
 * VirtualMachine.builder().kernel(vmlinux).device(VirtioMmio.of(new MyDevice())).build();
 * }</pre>
 *
 * <h2>Ownership</h2>
 * A {@code VirtioMmio} owns its device: {@link #close()} closes it if it is {@link AutoCloseable} (the VM calls it once,
 * after the device's loop thread has stopped and before guest memory is unmapped). A device made lazily
 * ({@link #of(String, DeviceFactory)}) is made, and so opened, only when the VM is built.
 *
 * <p><b>Thread safety:</b> attached once, while a VM is built; {@link #device()}, {@link #transport()} and
 * {@link #node()} are safe from any thread once it is.
 */
public final class VirtioMmio implements VmDevice {
    /** How the guest knows a virtio-mmio window: the device-tree compatible string, which the architectures render. */
    public static final String COMPATIBLE = "virtio,mmio";

    /** Makes a device when the VM is built; it may open and lock files, and size itself to the VM. */
    @FunctionalInterface
    public interface DeviceFactory {
        /**
         * {@return the device, for the VM {@code context} belongs to}
         *
         * @param context the VM being built: its guest memory, allocator and sandbox, for a device that sizes itself
         *     to the VM
         * @throws IOException if a file it needs cannot be opened or locked; the message says which and why
         */
        VirtioDevice create(DeviceContext context) throws IOException;

        /** {@return what is wrong with the configuration, as {@link VmDevice#checkConfiguration()} says; none by default} */
        default List<String> checkConfiguration() {
            return List.of();
        }

        /**
         * Releases what the factory holds for a device it was never asked to make (a tap handed over by the caller):
         * {@link VirtioMmio#close()} calls it when the VM was not built far enough to make the device. Nothing by
         * default.
         */
        default void discard() {}
    }

    /**
     * A factory whose device can also run in a device process, when the VM has a sandbox
     * ({@code VirtualMachineBuilder.sandbox(..)}): it describes the device as a {@link DeviceRecipe} instead of making
     * it.
     */
    public interface JailableFactory extends DeviceFactory {
        /**
         * {@return the device's recipe, or empty if this device must run in the VMM's process after all} It may open
         * here what the device process cannot (a tap), as fds of the recipe.
         *
         * @param context the VM being built, whose sandbox the device process will run in
         * @throws IOException if something the device needs cannot be opened; the message says which and why
         */
        Optional<DeviceRecipe> recipe(DeviceContext context) throws IOException;
    }

    private static final System.Logger LOG = System.getLogger(VirtioMmio.class.getName());

    private final String description;
    private final DeviceFactory factory;
    private volatile JailedAttachment jailed;
    private volatile VirtioDevice device;
    private volatile MmioTransport transport;
    private volatile DeviceNode.Mmio node;
    private boolean closed;

    private VirtioMmio(String description, DeviceFactory factory, VirtioDevice device) {
        this.description = description;
        this.factory = factory;
        this.device = device;
    }

    /**
     * {@return {@code device} behind a virtio-mmio transport, ready to be added with {@code builder.device(..)}}
     *
     * @param device the device, made already (so it always runs in the VMM's process); the {@code VirtioMmio} owns it
     *     from now on and closes it if it is {@link AutoCloseable}
     */
    public static VirtioMmio of(VirtioDevice device) {
        Objects.requireNonNull(device, "device");
        return new VirtioMmio(device.name(), context -> device, device);
    }

    /**
     * {@return a device {@code factory} makes when the VM is built, behind a virtio-mmio transport} For devices that
     * open or lock something ({@code BlockDevice.open(..)}), so that this happens in {@code build()}, whose failure then
     * names it. {@code description} names the device until then (in the builder's {@code toString}).
     *
     * @param description a name for the device until it is made, e.g. {@code "virtio-blk disk.qcow2"}
     * @param factory called once, in {@code build()}; a {@link JailableFactory} may run the device in a device process
     *     instead, when the VM has a sandbox
     */
    public static VirtioMmio of(String description, DeviceFactory factory) {
        return new VirtioMmio(
                Objects.requireNonNull(description, "description"), Objects.requireNonNull(factory, "factory"), null);
    }

    /**
     * {@return the device}
     *
     * @throws IllegalStateException if it is made lazily and the VM is not built yet, or it runs in a device process
     */
    public VirtioDevice device() {
        VirtioDevice made = device;
        if (jailed != null) {
            throw new IllegalStateException(description + " runs in a device process, not in this JVM");
        }
        if (made == null) {
            throw new IllegalStateException(description + " is made when the VM is built, which it is not yet");
        }
        return made;
    }

    /**
     * {@return the transport, once attached}
     *
     * @throws IllegalStateException if the device is not attached, or runs in a device process
     */
    public MmioTransport transport() {
        if (jailed != null) {
            throw new IllegalStateException(description + " runs in a device process, not in this JVM");
        }
        return attached(transport);
    }

    /** {@return the device process the device runs in, if it runs in one (once attached)} */
    public Optional<JailedAttachment> jailed() {
        return Optional.ofNullable(jailed);
    }

    /** {@return the register window and interrupt line the device got, as the guest is told of them, once attached} */
    public DeviceNode.Mmio node() {
        return attached(node);
    }

    private <T> T attached(T value) {
        if (value == null) {
            throw new IllegalStateException(description + " is not attached to a VM yet");
        }
        return value;
    }

    @Override
    public List<String> checkConfiguration() {
        return factory.checkConfiguration();
    }

    @Override
    public void attach(DeviceContext context) throws IOException {
        if (transport != null || jailed != null) {
            throw new IllegalStateException(description + " is already attached to a VM");
        }
        if (context.sandbox().isPresent() && device == null) {
            Optional<DeviceRecipe> recipe =
                    factory instanceof JailableFactory jailable ? jailable.recipe(context) : Optional.empty();
            if (recipe.isPresent()) {
                attachJailed(context, context.sandbox().get(), recipe.get());
                return;
            }
        }
        if (context.sandbox().isPresent()) {
            LOG.log(
                    System.Logger.Level.INFO,
                    description + " runs in the VMM's process, not a device process: vhost's data path is the"
                            + " kernel's, a VsockHost's channels live here, and a device of your own needs a"
                            + " JailableFactory");
        }
        VirtioDevice made = device;
        if (made == null) {
            made = Objects.requireNonNull(factory.create(context), "the factory of " + description + " made no device");
            device = made;
        }
        String role = context.instanceName(made.name());
        long base = context.allocator().mmio().allocate(MmioRegisters.WINDOW_SIZE, MmioRegisters.WINDOW_SIZE, role);
        int irq = context.allocator().allocateIrq(role);
        EventFd irqfd = context.irqfd(irq);
        List<EventFd> queueEvents = new ArrayList<>();
        int queues = made.queueMaxSizes().size();
        for (int queue = 0; queue < queues; queue++) {
            queueEvents.add(context.ioeventfd(
                    new IoEventAddress.Mmio(base + MmioRegisters.QUEUE_NOTIFY), Datamatch.of(4, queue)));
        }
        EventLoop loop = context.eventLoop(role);
        MmioTransport created = new MmioTransport(made, context.memory(), queueEvents, Interrupt.of(irqfd), loop);
        context.mmioBus().insert(created, base, MmioRegisters.WINDOW_SIZE);
        DeviceNode.Mmio announced = new DeviceNode.Mmio(COMPATIBLE, base, MmioRegisters.WINDOW_SIZE, irq);
        context.announce(announced);
        transport = created;
        node = announced;
    }

    private void attachJailed(DeviceContext context, DeviceSandbox sandbox, DeviceRecipe recipe) throws IOException {
        String role = context.instanceName(recipe.kind());
        long base;
        int irq;
        try {
            base = context.allocator().mmio().allocate(MmioRegisters.WINDOW_SIZE, MmioRegisters.WINDOW_SIZE, role);
            irq = context.allocator().allocateIrq(role);
        } catch (RuntimeException e) {
            recipe.fds().forEach(OwnedFd::close);
            throw e;
        }
        JailedAttachment attachment = JailedAttachment.start(context, sandbox, recipe, role, base, irq);
        context.mmioBus().insert(attachment.proxy(), base, MmioRegisters.WINDOW_SIZE);
        DeviceNode.Mmio announced = new DeviceNode.Mmio(COMPATIBLE, base, MmioRegisters.WINDOW_SIZE, irq);
        context.announce(announced);
        jailed = attachment;
        node = announced;
    }

    /**
     * Closes the device, if it was made and is {@link AutoCloseable}, or {@linkplain DeviceFactory#discard() discards}
     * its factory's holdings if it was not. Idempotent.
     */
    @Override
    public void close() {
        VirtioDevice made;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            made = device;
        }
        if (made == null) {
            factory.discard();
        } else if (made instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + description + " failed: " + e.getMessage(), e);
            }
        }
    }

    @Override
    public String toString() {
        DeviceNode.Mmio attached = node;
        return "VirtioMmio[" + description
                + (attached == null
                        ? ""
                        : String.format(Locale.ROOT, " at %#x irq %d", attached.base(), attached.interrupt()))
                + "]";
    }
}
