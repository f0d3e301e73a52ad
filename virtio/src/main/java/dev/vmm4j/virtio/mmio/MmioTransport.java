// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.mmio;

import static dev.vmm4j.virtio.mmio.MmioRegisters.*;

import dev.vmm4j.virtio.ActivationException;
import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.virtio.DeviceStatus;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.VirtioFeatures;
import dev.vmm4j.virtio.VirtioInterrupt;
import dev.vmm4j.virtio.queue.QueueException;
import dev.vmm4j.virtio.queue.SplitQueue;
import dev.vmm4j.vmm.bus.BusDevice;
import dev.vmm4j.vmm.devices.Interrupt;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.memory.GuestMemory;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The virtio-mmio transport, version 2 (virtio 1.2, section 4.2): a 4 KiB register window on the MMIO bus through
 * which the driver negotiates features, sets up queues and drives the device status, in front of one
 * {@link VirtioDevice}.
 *
 * <h2>Notifications and interrupts without exits</h2>
 * Each queue has an {@link EventFd}; under KVM it is registered as an ioeventfd on QueueNotify with the queue's index
 * as datamatch, so a notification never leaves the kernel. A QueueNotify write that does reach the transport (no
 * ioeventfd, as in the test harness) is forwarded to the same eventfd. Used buffers and configuration changes set
 * InterruptStatus bits and trigger the {@link Interrupt} (an irqfd under KVM); the driver reads the bits and
 * acknowledges them through InterruptACK.
 *
 * <h2>Status</h2>
 * The driver may only add status bits (a write that clears one is ignored) until it writes 0, which resets the device
 * and every queue. FEATURES_OK sticks only if the driver accepted VIRTIO_F_VERSION_1 and nothing the device did not
 * offer; the driver reads Status back to learn that. A QueueReady write checks that queue against guest memory, and
 * DRIVER_OK activates the device; when either fails, the device reports DEVICE_NEEDS_RESET with a configuration-change
 * interrupt, and the reason is logged. Register writes the spec does not allow in the current state (queue setup after
 * DRIVER_OK, features after FEATURES_OK, a register accessed with a width other than 32 bits) are ignored.
 *
 * <h2>Reset</h2>
 * A write of 0 to Status resets the device: {@link VirtioDevice#reset()} waits until the device has stopped touching
 * guest memory, which may mean waiting for a disk transfer in flight. Only the vCPU that wrote 0 waits for that; it
 * does not hold the transport's lock meanwhile, so another vCPU reading InterruptStatus, Status or configuration space
 * (an interrupt handler) is answered at once. Until the reset is done, Status reads as it was (the driver waits for it
 * to read 0, virtio 1.2, 4.2.2.1) and other register writes are ignored.
 *
 * <p><b>Thread safety:</b> safe for concurrent use: register accesses from vCPU threads are serialised, and never wait
 * for the device's work; the interrupt side ({@link #interrupt()}) is lock-free, so the device's worker never waits for
 * a vCPU.
 */
public final class MmioTransport implements BusDevice {
    private static final System.Logger LOG = System.getLogger(MmioTransport.class.getName());
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final VirtioDevice device;
    private final GuestMemory memory;
    private final List<SplitQueue> queues = new ArrayList<>();
    private final List<EventFd> queueEvents;
    private final Interrupt interruptLine;
    private final EventLoop eventLoop;
    private final long offeredFeatures;
    private final VirtioInterrupt interrupt = new TransportInterrupt();

    private final AtomicInteger interruptStatus = new AtomicInteger();
    private final AtomicInteger configGeneration = new AtomicInteger();
    private final AtomicBoolean needsReset = new AtomicBoolean();

    // Guarded by this.
    private int status;
    private int deviceFeaturesSel;
    private int driverFeaturesSel;
    private long driverFeatures;
    private int queueSel;
    private boolean activated;
    /** A reset waits for the device outside the lock; until it is done, register writes are ignored. */
    private boolean resetting;

    /**
     * A transport in front of {@code device}.
     *
     * @param device the device; its queue sizes and features are read once, here. The transport activates and resets
     *     it, but does not own it (it never closes it)
     * @param memory the VM's guest memory, which queues are checked against and the device is activated with
     * @param queueEvents one non-blocking eventfd per queue of the device, in order; the transport does not own them
     * @param interruptLine the device's interrupt line
     * @param eventLoop the loop the device serves its queues on; the transport does not own it
     * @throws IllegalArgumentException if {@code queueEvents} does not hold one eventfd per queue, or one of them is
     *     blocking
     */
    public MmioTransport(
            VirtioDevice device,
            GuestMemory memory,
            List<EventFd> queueEvents,
            Interrupt interruptLine,
            EventLoop eventLoop) {
        this.device = Objects.requireNonNull(device, "device");
        this.memory = Objects.requireNonNull(memory, "memory");
        this.interruptLine = Objects.requireNonNull(interruptLine, "interruptLine");
        this.eventLoop = Objects.requireNonNull(eventLoop, "eventLoop");
        for (int maxSize : device.queueMaxSizes()) {
            queues.add(new SplitQueue(maxSize));
        }
        if (queueEvents.size() != queues.size()) {
            throw new IllegalArgumentException(device.name() + " has " + queues.size() + " queues but "
                    + queueEvents.size() + " queue eventfds were given");
        }
        if (!queueEvents.stream().allMatch(EventFd::isNonBlocking)) {
            throw new IllegalArgumentException("queue eventfds must be non-blocking (EventFd.createNonBlocking())");
        }
        this.queueEvents = List.copyOf(queueEvents);
        this.offeredFeatures = device.deviceFeatures() | VirtioFeatures.TRANSPORT_FEATURES;
    }

    /** {@return the device behind this transport} */
    public VirtioDevice device() {
        return device;
    }

    /** {@return how the device signals the driver through this transport} */
    public VirtioInterrupt interrupt() {
        return interrupt;
    }

    /** {@return the device status as the driver reads it, DEVICE_NEEDS_RESET included} */
    public synchronized int status() {
        return status | (needsReset.get() ? DeviceStatus.DEVICE_NEEDS_RESET : 0);
    }

    /** {@return the current InterruptStatus bits} */
    public int interruptStatus() {
        return interruptStatus.get();
    }

    @Override
    public void read(long offset, MemorySegment data) {
        if (offset >= CONFIG) {
            synchronized (this) {
                device.readConfig(offset - CONFIG, data);
            }
            return;
        }
        if (data.byteSize() != 4 || (offset & 3) != 0) {
            LOG.log(
                    System.Logger.Level.DEBUG,
                    () -> String.format(
                            Locale.ROOT,
                            "%s: ignored a %d-byte read of register %#x (registers are 32-bit)",
                            device.name(),
                            data.byteSize(),
                            offset));
            data.fill((byte) 0);
            return;
        }
        data.set(INT, 0, readRegister((int) offset));
    }

    private synchronized int readRegister(int offset) {
        SplitQueue queue = selectedQueue();
        return switch (offset) {
            case MAGIC_VALUE -> MAGIC;
            case VERSION_REG -> VERSION;
            case DEVICE_ID -> device.deviceType();
            case VENDOR_ID -> VMM4J_VENDOR_ID;
            case DEVICE_FEATURES ->
                deviceFeaturesSel == 0 || deviceFeaturesSel == 1
                        ? (int) (offeredFeatures >>> (32 * deviceFeaturesSel))
                        : 0;
            case QUEUE_NUM_MAX -> queue == null ? 0 : queue.maxSize();
            case QUEUE_READY -> queue != null && queue.isReady() ? 1 : 0;
            case INTERRUPT_STATUS -> interruptStatus.get();
            case STATUS -> status | (needsReset.get() ? DeviceStatus.DEVICE_NEEDS_RESET : 0);
            case CONFIG_GENERATION -> configGeneration.get();
            case SHM_LEN_LOW, SHM_LEN_HIGH, SHM_BASE_LOW, SHM_BASE_HIGH -> -1; // no shared memory regions
            default -> 0;
        };
    }

    @Override
    public void write(long offset, MemorySegment data) {
        if (offset >= CONFIG) {
            synchronized (this) {
                if (!resetting) { // a device being reset takes no configuration (its reset may run meanwhile)
                    device.writeConfig(offset - CONFIG, data);
                }
            }
            return;
        }
        if (data.byteSize() != 4 || (offset & 3) != 0) {
            LOG.log(
                    System.Logger.Level.DEBUG,
                    () -> String.format(
                            Locale.ROOT,
                            "%s: ignored a %d-byte write of register %#x (registers are 32-bit)",
                            device.name(),
                            data.byteSize(),
                            offset));
            return;
        }
        int value = data.get(INT, 0);
        if (offset == QUEUE_NOTIFY) {
            notifyQueue(value); // no lock: the eventfd is all it touches
            return;
        }
        if (offset == STATUS && value == 0) {
            reset(); // not under the lock: it may wait for the device (see the class comment)
            return;
        }
        writeRegister((int) offset, value);
    }

    private void notifyQueue(int index) {
        if (index >= 0 && index < queueEvents.size()) {
            queueEvents.get(index).write(1);
        }
    }

    private synchronized void writeRegister(int offset, int value) {
        if (resetting) {
            LOG.log(
                    System.Logger.Level.DEBUG,
                    () -> String.format(
                            Locale.ROOT,
                            "%s: ignored a write of %#x to register %#x during a reset",
                            device.name(),
                            value,
                            offset));
            return;
        }
        switch (offset) {
            case DEVICE_FEATURES_SEL -> deviceFeaturesSel = value;
            case DRIVER_FEATURES_SEL -> driverFeaturesSel = value;
            case DRIVER_FEATURES -> writeDriverFeatures(value);
            case QUEUE_SEL -> queueSel = value;
            case QUEUE_NUM,
                    QUEUE_DESC_LOW,
                    QUEUE_DESC_HIGH,
                    QUEUE_DRIVER_LOW,
                    QUEUE_DRIVER_HIGH,
                    QUEUE_DEVICE_LOW,
                    QUEUE_DEVICE_HIGH,
                    QUEUE_READY -> writeQueueRegister(offset, value);
            case INTERRUPT_ACK -> acknowledge(value);
            case STATUS -> writeStatus(value);
            default ->
                LOG.log(
                        System.Logger.Level.DEBUG,
                        () -> String.format(
                                Locale.ROOT,
                                "%s: ignored a write of %#x to register %#x",
                                device.name(),
                                value,
                                offset));
        }
    }

    private void acknowledge(int bits) {
        int current;
        do {
            current = interruptStatus.get();
        } while (!interruptStatus.compareAndSet(current, current & ~bits));
    }

    private void writeDriverFeatures(int value) {
        // 3.1.1: features are written after DRIVER and before FEATURES_OK.
        if ((status & DeviceStatus.DRIVER) == 0
                || (status & DeviceStatus.FEATURES_OK) != 0
                || (driverFeaturesSel != 0 && driverFeaturesSel != 1)) {
            return;
        }
        int shift = 32 * driverFeaturesSel;
        driverFeatures = (driverFeatures & ~(0xffff_ffffL << shift)) | (Integer.toUnsignedLong(value) << shift);
    }

    private void writeQueueRegister(int offset, int value) {
        SplitQueue queue = selectedQueue();
        if (queue == null || (status & DeviceStatus.DRIVER_OK) != 0 || (queue.isReady() && offset != QUEUE_READY)) {
            return; // 4.2.2.2: queues are set up before DRIVER_OK, and not while ready
        }
        long unsigned = Integer.toUnsignedLong(value);
        switch (offset) {
            case QUEUE_NUM -> queue.setSize(value);
            case QUEUE_DESC_LOW -> queue.setDescTableAddress(low(queue.descTableAddress(), unsigned));
            case QUEUE_DESC_HIGH -> queue.setDescTableAddress(high(queue.descTableAddress(), unsigned));
            case QUEUE_DRIVER_LOW -> queue.setAvailRingAddress(low(queue.availRingAddress(), unsigned));
            case QUEUE_DRIVER_HIGH -> queue.setAvailRingAddress(high(queue.availRingAddress(), unsigned));
            case QUEUE_DEVICE_LOW -> queue.setUsedRingAddress(low(queue.usedRingAddress(), unsigned));
            case QUEUE_DEVICE_HIGH -> queue.setUsedRingAddress(high(queue.usedRingAddress(), unsigned));
            case QUEUE_READY -> setQueueReady(queue, value != 0);
            default -> throw new AssertionError(offset);
        }
    }

    private static long low(long current, long value) {
        return (current & 0xffff_ffff_0000_0000L) | value;
    }

    private static long high(long current, long value) {
        return (current & 0xffff_ffffL) | (value << 32);
    }

    private void setQueueReady(SplitQueue queue, boolean ready) {
        if (!ready) {
            queue.setReady(false);
            return;
        }
        try {
            queue.validate(memory);
            queue.setReady(true);
        } catch (QueueException e) {
            interrupt.signalNeedsReset("queue " + queueSel + ": " + e.getMessage());
        }
    }

    private void writeStatus(int value) {
        if ((value & status) != status) {
            LOG.log(
                    System.Logger.Level.DEBUG,
                    () -> String.format(
                            Locale.ROOT,
                            "%s: ignored status %#x, which clears bits of %#x",
                            device.name(),
                            value,
                            status));
            return;
        }
        int added = value & ~status;
        int accepted = value & ~DeviceStatus.DEVICE_NEEDS_RESET;
        if ((added & DeviceStatus.FEATURES_OK) != 0 && !featuresAcceptable()) {
            accepted &= ~DeviceStatus.FEATURES_OK; // 3.1.1: the driver re-reads status and gives up
        }
        if ((added & DeviceStatus.DRIVER_OK) != 0 && (accepted & DeviceStatus.FEATURES_OK) == 0) {
            accepted &= ~DeviceStatus.DRIVER_OK;
        }
        status = accepted;
        if ((added & status & DeviceStatus.DRIVER_OK) != 0 && !needsReset.get()) {
            activate();
        }
    }

    private boolean featuresAcceptable() {
        if ((driverFeatures & ~offeredFeatures) != 0) {
            LOG.log(
                    System.Logger.Level.DEBUG,
                    () -> String.format(
                            Locale.ROOT,
                            "%s: the driver accepted features %#x that were not offered",
                            device.name(),
                            driverFeatures & ~offeredFeatures));
            return false;
        }
        return (driverFeatures & (1L << VirtioFeatures.VIRTIO_F_VERSION_1)) != 0; // no legacy drivers
    }

    private void activate() {
        boolean eventIdx = (driverFeatures & (1L << VirtioFeatures.VIRTIO_RING_F_EVENT_IDX)) != 0;
        boolean indirect = (driverFeatures & (1L << VirtioFeatures.VIRTIO_RING_F_INDIRECT_DESC)) != 0;
        try {
            for (int i = 0; i < queues.size(); i++) {
                SplitQueue queue = queues.get(i);
                if (queue.isReady()) {
                    try {
                        queue.activate(memory, eventIdx, indirect);
                    } catch (QueueException e) {
                        throw new ActivationException("queue " + i + ": " + e.getMessage());
                    }
                }
            }
            device.activate(new DeviceActivation(memory, driverFeatures, queues, queueEvents, interrupt, eventLoop));
            activated = true;
        } catch (ActivationException | RuntimeException e) {
            interrupt.signalNeedsReset("activation failed: " + e.getMessage());
        }
    }

    /**
     * Resets the device and the transport, as a write of 0 to Status does; returns when the device has stopped (see
     * the class comment). A reset already under way on another thread makes this return at once.
     */
    public void reset() {
        boolean wasActivated;
        synchronized (this) {
            if (resetting) {
                return;
            }
            resetting = true;
            wasActivated = activated;
            activated = false;
        }
        try {
            if (wasActivated) {
                device.reset();
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, device.name() + ": reset failed", e);
        } finally {
            finishReset();
        }
    }

    private synchronized void finishReset() {
        resetting = false;
        queues.forEach(SplitQueue::reset);
        for (EventFd event : queueEvents) {
            event.read(); // drop notifications the old driver left pending
        }
        status = 0;
        deviceFeaturesSel = 0;
        driverFeaturesSel = 0;
        driverFeatures = 0;
        queueSel = 0;
        interruptStatus.set(0);
        needsReset.set(false);
    }

    private SplitQueue selectedQueue() {
        return queueSel >= 0 && queueSel < queues.size() ? queues.get(queueSel) : null;
    }

    /** The lock-free path from the device to the driver. */
    private final class TransportInterrupt implements VirtioInterrupt {
        @Override
        public void signalUsed(int queueIndex) {
            interruptStatus.getAndUpdate(bits -> bits | INT_VRING);
            interruptLine.trigger();
        }

        @Override
        public void signalConfigChange() {
            configGeneration.incrementAndGet();
            interruptStatus.getAndUpdate(bits -> bits | INT_CONFIG);
            interruptLine.trigger();
        }

        @Override
        public void signalNeedsReset(String reason) {
            if (needsReset.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.WARNING, device.name() + " needs a reset: " + reason);
                signalConfigChange();
            }
        }
    }

    @Override
    public String toString() {
        return "MmioTransport[" + device.name() + "]";
    }
}
