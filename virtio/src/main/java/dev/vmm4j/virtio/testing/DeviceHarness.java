// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.testing;

import static dev.vmm4j.virtio.mmio.MmioRegisters.*;

import dev.vmm4j.virtio.DeviceStatus;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.mmio.MmioTransport;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs a {@link VirtioDevice} behind a real {@link MmioTransport} with the test thread as the guest driver and no KVM:
 * the public equivalent of virtio-queue's mock driver and Firecracker's test helper, for vmm4j's devices and yours.
 *
 * <pre>{@code
 * try (DeviceHarness harness = DeviceHarness.create(new RngDevice())) {
 *     DriverQueue queue = harness.activate().getFirst();   // the driver's whole handshake, over MMIO registers
 *     long buffer = harness.allocate(64);
 *     int head = queue.addChain(DriverQueue.Buffer.writable(buffer, 64));
 *     harness.notifyQueue(0);                              // a QueueNotify write, as a guest makes it
 *     harness.runUntilIdle();                              // the device's event loop, on this thread
 *     assertEquals(new DriverQueue.UsedElement(head, 64), queue.used(0));
 *     assertEquals(1, harness.interruptCount());
 * }
 * }</pre>
 *
 * <p>Guest memory is anonymous memory at guest-physical 0. The device's event loop is not started: it runs on the
 * test thread in {@link #runUntilIdle()}, so a test sees every effect of a notification when that returns.
 *
 * <p><b>Thread safety:</b> not thread-safe; one test thread drives it.
 */
public final class DeviceHarness implements AutoCloseable {
    /** Guest memory a harness gets unless told otherwise. */
    public static final long DEFAULT_MEMORY_BYTES = 16L << 20;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final VirtioDevice device;
    private final GuestMemoryMmap memory;
    private final GuestAllocator allocator;
    private final EventLoop loop;
    private final List<EventFd> queueEvents = new ArrayList<>();
    private final AtomicInteger interrupts = new AtomicInteger();
    private final MmioTransport transport;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment register = arena.allocate(8);
    private final List<DriverQueue> queues = new ArrayList<>();

    private DeviceHarness(VirtioDevice device, long memoryBytes) {
        this.device = Objects.requireNonNull(device, "device");
        this.memory = GuestMemoryMmap.builder().anonymous(0, memoryBytes).build();
        this.allocator = new GuestAllocator(0x1000, memoryBytes - 0x1000);
        this.loop = EventLoop.create("harness-" + device.name());
        for (int i = 0; i < device.queueMaxSizes().size(); i++) {
            queueEvents.add(EventFd.createNonBlocking());
        }
        this.transport = new MmioTransport(device, memory, queueEvents, interrupts::incrementAndGet, loop);
    }

    /**
     * {@return a harness for {@code device} with {@link #DEFAULT_MEMORY_BYTES} of guest memory}
     *
     * @param device the device under test; the harness owns it, resets it and closes it (if it is
     *     {@link AutoCloseable}) on {@link #close()}
     */
    public static DeviceHarness create(VirtioDevice device) {
        return create(device, DEFAULT_MEMORY_BYTES);
    }

    /**
     * {@return a harness for {@code device} with {@code memoryBytes} (a multiple of 4 KiB) of guest memory}
     *
     * @param device the device under test; the harness owns it, resets it and closes it (if it is
     *     {@link AutoCloseable}) on {@link #close()}
     * @param memoryBytes guest memory in bytes, a positive multiple of 4 KiB; the first 4 KiB are never allocated
     * @throws IllegalArgumentException if {@code memoryBytes} is not a positive multiple of 4 KiB
     */
    public static DeviceHarness create(VirtioDevice device, long memoryBytes) {
        return new DeviceHarness(device, memoryBytes);
    }

    /** {@return the device under test} */
    public VirtioDevice device() {
        return device;
    }

    /** {@return the guest memory, from guest-physical 0, for reading what the device wrote; the harness's to close} */
    public GuestMemory memory() {
        return memory;
    }

    /** {@return the virtio-mmio transport the device sits behind, which the register methods go through} */
    public MmioTransport transport() {
        return transport;
    }

    /** {@return guest memory for rings and buffers, in allocation order from 4 KiB up} */
    public GuestAllocator allocator() {
        return allocator;
    }

    /**
     * {@return the address of {@code bytes} fresh guest bytes, 8-byte aligned}
     *
     * @param bytes how many, from 0; zeroed unless something wrote them before (the allocator never hands out twice)
     * @throws IllegalArgumentException if {@code bytes} is negative
     * @throws IllegalStateException if guest memory is used up
     */
    public long allocate(long bytes) {
        return allocator.allocate(bytes);
    }

    /**
     * {@return the value of the 32-bit register at {@code offset}, read as a guest does}
     *
     * @param offset from the start of the register window, such as {@code MmioRegisters.STATUS}; an offset of
     *     configuration space or not 4-byte aligned gets what the transport answers a guest
     */
    public int readRegister(int offset) {
        MemorySegment data = register.asSlice(0, 4);
        transport.read(offset, data);
        return data.get(INT, 0);
    }

    /**
     * Writes the 32-bit register at {@code offset} as a guest does.
     *
     * @param offset from the start of the register window, such as {@code MmioRegisters.STATUS}
     * @param value the value written, little-endian as a guest writes it
     */
    public void writeRegister(int offset, int value) {
        MemorySegment data = register.asSlice(0, 4);
        data.set(INT, 0, value);
        transport.write(offset, data);
    }

    /**
     * {@return {@code size} (1, 2, 4 or 8) bytes of configuration space at {@code offset}, little-endian}
     *
     * @param offset in bytes from the start of configuration space
     * @param size the access width in bytes: 1, 2, 4 or 8
     * @throws IllegalArgumentException if {@code size} is 0, 3, 5, 6 or 7 (after the read reached the device); a
     *     negative size or one above 8 throws {@link IndexOutOfBoundsException} instead
     */
    public long readConfig(int offset, int size) {
        MemorySegment data = register.asSlice(0, size);
        transport.read(CONFIG + offset, data);
        return switch (size) {
            case 1 -> Byte.toUnsignedLong(data.get(ValueLayout.JAVA_BYTE, 0));
            case 2 ->
                Short.toUnsignedLong(data.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0));
            case 4 -> Integer.toUnsignedLong(data.get(INT, 0));
            case 8 -> data.get(LONG, 0);
            default -> throw new IllegalArgumentException("config reads are 1, 2, 4 or 8 bytes, not " + size);
        };
    }

    /** {@return the 64 feature bits the device offers, read through DeviceFeaturesSel 0 and 1} */
    public long offeredFeatures() {
        writeRegister(DEVICE_FEATURES_SEL, 0);
        long low = Integer.toUnsignedLong(readRegister(DEVICE_FEATURES));
        writeRegister(DEVICE_FEATURES_SEL, 1);
        return low | ((long) readRegister(DEVICE_FEATURES) << 32);
    }

    /**
     * Does the driver's whole set-up, accepting every offered feature, with every queue at its maximum size.
     *
     * @return the driver's view of each queue, in queue order
     * @throws IllegalStateException if the device refuses the features, reports DEVICE_NEEDS_RESET, or guest memory
     *     has no room for the rings
     */
    public List<DriverQueue> activate() {
        return activate(offeredFeatures(), 0);
    }

    /**
     * Does the driver's set-up (virtio 1.2, 3.1.1) over the registers: reset, ACKNOWLEDGE, DRIVER, accept
     * {@code features}, FEATURES_OK (checked), every queue at {@code queueSize} (0: its maximum) with rings from
     * {@link #allocator()}, DRIVER_OK.
     *
     * @param features the feature bits the driver accepts; not checked against what the device offers, so a test can
     *     accept one the device did not offer
     * @param queueSize the size of every queue, or 0 for each queue's maximum; not checked (a device refuses a size
     *     that is not a power of two or is above its maximum)
     * @return the driver's view of each queue
     * @throws IllegalStateException if the device refuses the features or reports DEVICE_NEEDS_RESET, or guest
     *     memory has no room for the rings
     */
    public List<DriverQueue> activate(long features, int queueSize) {
        writeRegister(STATUS, 0);
        writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE);
        writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        writeRegister(DRIVER_FEATURES_SEL, 0);
        writeRegister(DRIVER_FEATURES, (int) features);
        writeRegister(DRIVER_FEATURES_SEL, 1);
        writeRegister(DRIVER_FEATURES, (int) (features >>> 32));
        int status = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK;
        writeRegister(STATUS, status);
        if ((readRegister(STATUS) & DeviceStatus.FEATURES_OK) == 0) {
            throw new IllegalStateException(device.name() + " refused features " + Long.toHexString(features));
        }
        queues.clear();
        for (int i = 0; i < queueEvents.size(); i++) {
            writeRegister(QUEUE_SEL, i);
            int size = queueSize == 0 ? readRegister(QUEUE_NUM_MAX) : queueSize;
            DriverQueue queue = new DriverQueue(memory, allocator, size);
            writeRegister(QUEUE_NUM, size);
            writeRegister(QUEUE_DESC_LOW, (int) queue.descTableAddress());
            writeRegister(QUEUE_DESC_HIGH, (int) (queue.descTableAddress() >>> 32));
            writeRegister(QUEUE_DRIVER_LOW, (int) queue.availRingAddress());
            writeRegister(QUEUE_DRIVER_HIGH, (int) (queue.availRingAddress() >>> 32));
            writeRegister(QUEUE_DEVICE_LOW, (int) queue.usedRingAddress());
            writeRegister(QUEUE_DEVICE_HIGH, (int) (queue.usedRingAddress() >>> 32));
            writeRegister(QUEUE_READY, 1);
            queues.add(queue);
        }
        writeRegister(STATUS, status | DeviceStatus.DRIVER_OK);
        int after = readRegister(STATUS);
        if ((after & DeviceStatus.DEVICE_NEEDS_RESET) != 0 || (after & DeviceStatus.DRIVER_OK) == 0) {
            throw new IllegalStateException(device.name() + " did not start: status " + Integer.toHexString(after));
        }
        return List.copyOf(queues);
    }

    /**
     * {@return the driver's view of queue {@code index}, after {@link #activate}}
     *
     * @param index the queue's index, from 0
     * @throws IndexOutOfBoundsException if the device has no such queue, or has not been activated
     */
    public DriverQueue queue(int index) {
        return queues.get(index);
    }

    /**
     * Notifies queue {@code index} with a QueueNotify write, as a guest does. The device sees it in the next
     * {@link #runUntilIdle()}.
     *
     * @param index the queue's index, from 0; the transport ignores one the device does not have
     */
    public void notifyQueue(int index) {
        writeRegister(QUEUE_NOTIFY, index);
    }

    /**
     * Runs the device's event loop on this thread until nothing is left to do.
     *
     * @return the events handled
     */
    public int runUntilIdle() {
        int total = 0;
        int handled;
        while ((handled = loop.runOnce(0)) > 0) {
            total += handled;
        }
        return total;
    }

    /** {@return how many interrupts the device raised} */
    public int interruptCount() {
        return interrupts.get();
    }

    /** {@return the status register, DEVICE_NEEDS_RESET included} */
    public int status() {
        return readRegister(STATUS);
    }

    /** {@return how many subscriber calls on the device's loop threw (0 for a device that handles its errors)} */
    public long loopErrors() {
        return loop.errorCount();
    }

    /** Resets the device, closes the loop and the eventfds, unmaps guest memory, and closes the device if it can be. */
    @Override
    public void close() {
        transport.reset();
        loop.close();
        queueEvents.forEach(EventFd::close);
        memory.close();
        arena.close();
        if (device instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + device.name() + " failed", e);
            }
        }
    }
}
