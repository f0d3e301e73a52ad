// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.p9;

import dev.vmm4j.kvm.bindings.Errno;
import dev.vmm4j.virtio.ActivationException;
import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.virtio.QueueHandler;
import dev.vmm4j.virtio.ServedQueues;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.queue.DescriptorChain;
import dev.vmm4j.vmm.JfrEvents;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The virtio 9P transport device (virtio 1.2, section 5.18 is reserved for it; the layout is Linux's
 * {@code net/9p/trans_virtio.c} and QEMU's): device type 9, one request queue, and a configuration space holding the
 * mount tag:
 *
 * <pre>
 *  0          2
 *  +----------+--------------------+
 *  | tag_len  | tag (tag_len bytes) |    feature VIRTIO_9P_MOUNT_TAG (bit 0)
 *  +----------+--------------------+
 * </pre>
 *
 * Each chain carries one T-message in its device-readable buffers; the R-message goes to its device-writable
 * buffers. A reply that does not fit the writable part becomes {@code Rlerror(EMSGSIZE)}; a chain with no room even for
 * that is returned with nothing written. Requests are served on the device's event loop by a {@link P9Server}, which
 * never throws for what a driver sends.
 *
 * <p><b>Thread safety:</b> see {@link VirtioDevice}; requests are served on the device's event loop.
 */
public final class P9Device implements VirtioDevice, AutoCloseable {
    /** The request queue's maximum size. */
    public static final int QUEUE_SIZE = 128;
    /** Feature bit: the configuration space holds a mount tag. */
    public static final int VIRTIO_9P_MOUNT_TAG = 0;
    /** The longest mount tag accepted. */
    public static final int MAX_TAG_BYTES = 255;

    private final P9Server server;
    private final byte[] config;
    private final String tag;
    private final ServedQueues served = new ServedQueues();

    /** A device serving {@code server} under the mount tag {@code tag}; it owns the server from now on. */
    P9Device(P9Server server, String tag) {
        this.server = Objects.requireNonNull(server, "server");
        this.config = configSpace(tag);
        this.tag = tag;
    }

    /**
     * {@return a device sharing the directory {@code source} under the mount tag {@code tag}, through a
     * {@link P9Server} with the default bounds} Close it to close the server.
     *
     * @param source the host directory to share; everything the guest reaches stays beneath it (see {@link P9Server})
     * @param tag the name the guest mounts it by ({@code mount -t 9p <tag> ...}): 1 to {@link #MAX_TAG_BYTES} bytes
     *     of UTF-8, no NUL
     * @param readOnly whether the share refuses every change with {@code EROFS}
     * @throws IllegalArgumentException if the tag is empty, longer than {@link #MAX_TAG_BYTES} bytes or has a NUL
     * @throws IOException if the directory cannot be opened
     */
    public static P9Device open(Path source, String tag, boolean readOnly) throws IOException {
        Objects.requireNonNull(source, "source");
        checkTag(tag);
        return new P9Device(P9Server.open(source, readOnly), tag);
    }

    /**
     * Checks a mount tag.
     *
     * @param tag the mount tag to check, not null
     * @throws IllegalArgumentException if the tag is empty, longer than {@link #MAX_TAG_BYTES} bytes or has a NUL
     */
    public static void checkTag(String tag) {
        Objects.requireNonNull(tag, "tag");
        byte[] bytes = tag.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > MAX_TAG_BYTES || tag.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(
                    "a 9p mount tag is 1 to " + MAX_TAG_BYTES + " bytes of UTF-8 without NUL: \"" + tag + "\"");
        }
    }

    private static byte[] configSpace(String tag) {
        checkTag(tag);
        byte[] bytes = tag.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(2 + bytes.length)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putShort((short) bytes.length)
                .put(bytes)
                .array();
    }

    /** {@return the server behind the device (its request counts)} */
    public P9Server server() {
        return server;
    }

    @Override
    public int deviceType() {
        return VirtioIds.NINE_P;
    }

    @Override
    public long deviceFeatures() {
        return 1L << VIRTIO_9P_MOUNT_TAG;
    }

    @Override
    public List<Integer> queueMaxSizes() {
        return List.of(QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, MemorySegment data) {
        data.fill((byte) 0);
        if (offset < 0 || offset >= config.length) {
            return;
        }
        long n = Math.min(data.byteSize(), config.length - offset);
        MemorySegment.copy(MemorySegment.ofArray(config), offset, data, 0, n);
    }

    @Override
    public synchronized void activate(DeviceActivation activation) throws ActivationException {
        if (!activation.queues().getFirst().isActive()) {
            throw new ActivationException("the request queue (0) is not set up");
        }
        served.serve(activation.eventLoop(), QueueHandler.forQueue(name(), activation, 0, this::serve));
    }

    private long serve(DescriptorChain chain) throws GuestMemoryException {
        // never escapes: free when JFR does not record it, and never made (nor its class loaded) before JFR is up
        P9RequestEvent event = JfrEvents.mayRecord() ? new P9RequestEvent() : null;
        if (event != null) {
            event.begin();
        }
        int length = (int) Math.min(chain.readableBytes(), P9Server.MAX_MSIZE);
        int capacity = (int) Math.min(chain.writableBytes(), P9Server.MAX_MSIZE);
        MemorySegment request = server.requestBuffer();
        chain.readReadable(0, request.asSlice(0, length));
        int reply = server.serve(length, capacity);
        if (reply > 0) {
            chain.writeWritable(0, server.replyBuffer().asSlice(0, reply));
        }
        if (event != null && event.shouldCommit()) {
            commit(event, length, reply);
        }
        return reply;
    }

    /** Fills {@code event} in from the request and reply buffers (the wire's own bytes) and commits it. */
    private void commit(P9RequestEvent event, int requestLength, int replyLength) {
        MemorySegment request = server.requestBuffer();
        MemorySegment reply = server.replyBuffer();
        event.mountTag = tag;
        event.message = requestLength > 4 ? P9RequestEvent.messageName(request.get(ValueLayout.JAVA_BYTE, 4)) : "none";
        event.requestBytes = requestLength;
        event.replyBytes = replyLength;
        if (replyLength >= 11 && (reply.get(ValueLayout.JAVA_BYTE, 4) & 0xff) == P9Messages.RLERROR) {
            event.error = Errno.name(reply.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 7));
        }
        event.commit();
    }

    @Override
    public synchronized void reset() {
        served.stop();
    }

    /** Closes the server (its fids and the shared directory). */
    @Override
    public void close() {
        reset();
        server.close();
    }

    @Override
    public String toString() {
        return "P9Device[" + server.root() + (server.isReadOnly() ? ", read-only" : "") + "]";
    }
}
