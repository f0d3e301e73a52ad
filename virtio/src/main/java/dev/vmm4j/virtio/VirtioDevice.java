// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A virtio device, independent of its transport (virtio 1.2, sections 2 and 5): what it is, what it offers, its
 * queues and configuration space, and what it does once the driver has set it up. vmm4j's block, rng and balloon
 * devices implement it, and so can a device of your own; {@code VirtioMmio.of(device)} then puts it in a VM, and
 * {@code dev.vmm4j.virtio.testing.DeviceHarness} tests it without one.
 *
 * <h2>Life cycle</h2>
 * The transport answers the driver's feature and queue registers from {@link #deviceType()},
 * {@link #deviceFeatures()} and {@link #queueMaxSizes()}, and passes configuration-space accesses to
 * {@link #readConfig} and {@link #writeConfig}. When the driver sets DRIVER_OK, the transport activates every ready
 * queue and calls {@link #activate} with them; the device then serves its queues on the event loop it is given (or on
 * threads of its own), never on the vCPU thread that called it. {@link #reset} undoes activation: when it returns, the
 * device no longer touches guest memory or the queues. A reset may wait for work in flight (a disk transfer); the
 * transport makes only the vCPU that asked for it wait.
 *
 * <h2>The guest is hostile</h2>
 * Everything in guest memory is the driver's to corrupt at any moment. A device treats a malformed chain as an error
 * for that request (see {@link dev.vmm4j.virtio.queue.DescriptorChain}), a broken queue as a reason to
 * {@linkplain VirtioInterrupt#signalNeedsReset need a reset}, and lets no exception escape its event handlers.
 *
 * <p><b>Thread safety:</b> the transport calls these methods from vCPU threads, one at a time (it serialises them),
 * with one exception: {@link #reset} runs outside that order, since it may wait for work in flight, and another vCPU
 * may call {@link #readConfig} meanwhile (configuration writes are held back until the reset is done). A device
 * synchronises what it shares with its own worker, and what {@code readConfig} reads with {@code reset}.
 */
public interface VirtioDevice {
    /** {@return the virtio device ID, such as {@link VirtioIds#BLOCK}} */
    int deviceType();

    /**
     * {@return the feature bits the device offers, device-specific and reserved ones} The transport adds those of the
     * queue and transport that vmm4j implements: VIRTIO_F_VERSION_1, VIRTIO_RING_F_INDIRECT_DESC and
     * VIRTIO_RING_F_EVENT_IDX.
     */
    long deviceFeatures();

    /**
     * {@return the maximum size of each queue, in queue order: a power of two up to 32768 each} Asked when the device is
     * put behind a transport, perhaps more than once: it must be the same list every time.
     */
    List<Integer> queueMaxSizes();

    /**
     * Answers a driver read of configuration space at {@code offset}: fills {@code data} (1, 2, 4 or 8 bytes).
     *
     * @param offset in bytes from the start of configuration space; from 0, but not checked against its size, so the
     *     device must answer reads past its end (vmm4j's devices answer zeros)
     * @param data where the answer goes, as wide as the driver's access; the transport's, valid only during the call
     */
    void readConfig(long offset, MemorySegment data);

    /**
     * Takes a driver write to configuration space. The default ignores it, as for a read-only configuration.
     *
     * @param offset in bytes from the start of configuration space; from 0, but not checked against its size
     * @param data the bytes the driver wrote, as wide as its access; the transport's, valid only during the call
     */
    default void writeConfig(long offset, MemorySegment data) {}

    /**
     * Starts serving the driver: the features it accepted are final, and the queues it made ready are active.
     *
     * @param activation guest memory, the accepted features, the queues with their notification eventfds, the
     *     interrupt and the event loop; the device keeps it until {@link #reset}
     * @throws ActivationException if the device cannot work as set up (a queue it needs is not ready); the transport
     *     then reports DEVICE_NEEDS_RESET to the driver
     */
    void activate(DeviceActivation activation) throws ActivationException;

    /** Stops serving the driver and forgets the activation; afterwards the device may be activated again. */
    void reset();

    /** {@return a short name for logs and threads, such as {@code virtio-blk}} */
    default String name() {
        return VirtioIds.name(deviceType());
    }
}
