// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * Where a virtio-net device's frames go and come from: a {@link Tap}, or for tests and benchmarks a socket standing in
 * for one ({@code dev.vmm4j.virtio.testing.FrameSocketPair}). Every frame, both ways, starts with the
 * {@value NetFeatures#HEADER_BYTES}-byte virtio-net header, as a tap opened with IFF_VNET_HDR carries it.
 *
 * <p>The transfers take an array of {@code struct iovec} pointing into guest memory, so that a frame moves between
 * the port and the guest's buffers with one system call and no copy in between. They never block (the fd is
 * non-blocking) and return a count or a negative errno, allocating nothing.
 *
 * <p><b>Thread safety:</b> {@link #receive} and {@link #send} run on the device's event loop only; the port is
 * {@linkplain #close() closed} after the loop stopped serving it.
 */
public interface FramePort extends AutoCloseable {
    /** The result of {@link #receive} when no frame is waiting, and of {@link #send} when there is no room. */
    long AGAIN = -LinuxHeaders.EAGAIN();

    /** {@return the non-blocking fd the device's event loop watches for frames (readable) and room (writable)} */
    int fd();

    /**
     * Takes one frame into the buffers {@code count} iovecs at {@code iovecs} describe.
     *
     * @param iovecs native memory holding at least {@code count} {@code struct iovec}s (16 bytes each: a host address
     *     and a length), each pointing into guest memory; the caller's, read only during the call
     * @param count how many iovecs to use, 1 to 1024 (Linux's UIO_MAXIOV)
     * @return the frame's length
     *         with its header, which exceeds the buffers' size if the frame did not fit (it was cut short and is lost);
     *         {@link #AGAIN} if none is waiting; 0 if the other side is gone for good; or another negative errno
     */
    long receive(MemorySegment iovecs, int count);

    /**
     * Sends one frame gathered from {@code count} iovecs at {@code iovecs}.
     *
     * @param iovecs native memory holding at least {@code count} {@code struct iovec}s (16 bytes each: a host address
     *     and a length), each pointing into guest memory; the caller's, read only during the call
     * @param count how many iovecs to use, 1 to 1024 (Linux's UIO_MAXIOV)
     * @return the bytes sent; {@link #AGAIN} if
     *         there is no room now (the device retries once the fd is writable); or another negative errno, such as EINVAL
     *         for a header the host rejects: that frame is dropped
     */
    long send(MemorySegment iovecs, int count);

    /**
     * Tells the port which offloads the guest accepted ({@link NetFeatures#tapOffload}), so that it hands the guest
     * only frames the guest can take. The default does nothing, for ports that never make such frames.
     *
     * @param tunFlags TUNSETOFFLOAD flags, as {@link NetFeatures#tapOffload} computes them; 0 for none
     * @throws IOException if the host refuses the setting
     */
    default void setOffload(int tunFlags) throws IOException {}

    /** Closes the fd. */
    @Override
    void close() throws IOException;
}
