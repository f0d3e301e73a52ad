// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.testing;

import dev.vmm4j.virtio.ActivationException;
import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.virtio.VirtioDevice;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;

/**
 * A {@link VirtioDevice} that forwards every call to another, for a test that watches or slows one call of a real
 * device: override that call, and call {@code super} to forward it.
 *
 * <pre>{@code
 * VirtioDevice watched = new ForwardingVirtioDevice(BlockDevice.open(image, false)) {
 *     @Override
 *     public void reset() {
 *         resetStarted.countDown();
 *         super.reset();
 *     }
 * };
 * }</pre>
 *
 * {@link #close()} closes the device it forwards to, if that is {@link AutoCloseable}.
 *
 * <p><b>Thread safety:</b> as the device it forwards to.
 */
public class ForwardingVirtioDevice implements VirtioDevice, AutoCloseable {
    private final VirtioDevice delegate;

    /**
     * A device that forwards to {@code delegate}, and owns it.
     *
     * @param delegate the real device; closed by {@link #close()} if it is {@link AutoCloseable}
     */
    public ForwardingVirtioDevice(VirtioDevice delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    /** {@return the device calls are forwarded to} */
    public VirtioDevice delegate() {
        return delegate;
    }

    @Override
    public int deviceType() {
        return delegate.deviceType();
    }

    @Override
    public long deviceFeatures() {
        return delegate.deviceFeatures();
    }

    @Override
    public List<Integer> queueMaxSizes() {
        return delegate.queueMaxSizes();
    }

    @Override
    public void readConfig(long offset, MemorySegment data) {
        delegate.readConfig(offset, data);
    }

    @Override
    public void writeConfig(long offset, MemorySegment data) {
        delegate.writeConfig(offset, data);
    }

    @Override
    public void activate(DeviceActivation activation) throws ActivationException {
        delegate.activate(activation);
    }

    @Override
    public void reset() {
        delegate.reset();
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public void close() throws Exception {
        if (delegate instanceof AutoCloseable closeable) {
            closeable.close();
        }
    }

    @Override
    public String toString() {
        return "Forwarding[" + delegate + "]";
    }
}
