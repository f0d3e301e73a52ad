// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import dev.vmm4j.kvm.bindings.Errno;
import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.virtio.VirtioInterrupt;
import dev.vmm4j.virtio.queue.DescriptorChain;
import dev.vmm4j.virtio.queue.QueueException;
import dev.vmm4j.virtio.queue.SplitQueue;
import dev.vmm4j.vmm.event.Event;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventOps;
import dev.vmm4j.vmm.event.EventSet;
import dev.vmm4j.vmm.event.EventSubscriber;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Moves frames between an active virtio-net device's queues and its {@link FramePort}, on the device's event loop:
 * the receive queue's buffers are filled straight from the port ({@code readv}), the transmit queue's frames go
 * straight to it ({@code writev}), with no copy and no allocation per frame.
 *
 * <h2>Nothing is lost for want of a buffer</h2>
 * A frame is taken from the port only into a guest buffer already in hand. When the guest has posted none, the loop
 * stops watching the port for frames (they wait in the tap's own queue, where the host's flow control sees them) and
 * resumes when the driver notifies the receive queue. When the port has no room for a frame, the chain goes back to
 * the queue and the loop waits for the port to become writable. Either way the device holds no frame of its own, so a
 * guest or a host that stops reading stalls the sender instead of growing memory.
 *
 * <h2>The guest is hostile</h2>
 * A malformed chain, a receive chain with device-readable buffers or too small for the header, or a transmit chain
 * with device-writable buffers, goes back unused. A transmit header is checked against what was negotiated (flags,
 * gso_type, checksum offsets and hdr_len inside the frame) before the host sees it; the host's own checks then apply
 * too (a tap refuses a bad header with EINVAL), and the frame is dropped and counted.
 *
 * <p><b>Thread safety:</b> confined to the event loop's thread (as {@link EventSubscriber} says).
 */
final class NetDataPath implements EventSubscriber {
    private static final System.Logger LOG = System.getLogger(NetDataPath.class.getName());

    static final int RX_QUEUE = 0;
    static final int TX_QUEUE = 1;
    private static final int PORT = 2;
    /** Frames received per event before the loop gets a chance to transmit: fairness under a flood. */
    private static final int RX_BUDGET = 256;

    private static final ValueLayout.OfShort SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int NUM_BUFFERS_OFFSET = 10;
    // struct virtio_net_hdr (virtio 1.2, 5.1.6)
    private static final int HDR_F_NEEDS_CSUM = 1;
    private static final int GSO_NONE = 0;
    private static final int GSO_TCPV4 = 1;
    private static final int GSO_UDP = 3;
    private static final int GSO_ECN = 0x80;

    private final String name;
    private final FramePort port;
    private final GuestMemory memory;
    private final SplitQueue rxQueue;
    private final SplitQueue txQueue;
    private final EventFd rxNotification;
    private final EventFd txNotification;
    private final VirtioInterrupt interrupt;
    private final long acked;
    private final NetCounters counters;
    private final IoVectors vectors;
    private final DescriptorChain rxChain;
    private final DescriptorChain txChain;
    private final MemorySegment header;
    private final MemorySegment oneBuffer;

    private boolean rxWaitingForBuffers;
    private boolean txWaitingForRoom;
    /** The port reported an error or hang-up: it will not give frames for long, and epoll will keep saying so. */
    private boolean hungUp;

    private boolean portGone;
    private boolean broken;
    private int portInterest;

    NetDataPath(
            String name,
            FramePort port,
            GuestMemory memory,
            SplitQueue rxQueue,
            SplitQueue txQueue,
            EventFd rxNotification,
            EventFd txNotification,
            VirtioInterrupt interrupt,
            long acked,
            NetCounters counters,
            IoVectors vectors) {
        this.name = name;
        this.port = port;
        this.memory = memory;
        this.rxQueue = rxQueue;
        this.txQueue = txQueue;
        this.rxNotification = rxNotification;
        this.txNotification = txNotification;
        this.interrupt = interrupt;
        this.acked = acked;
        this.counters = counters;
        this.vectors = vectors;
        this.rxChain = rxQueue.newChain();
        this.txChain = txQueue.newChain();
        this.header = MemorySegment.ofArray(new byte[NetFeatures.HEADER_BYTES]);
        this.oneBuffer = MemorySegment.ofArray(new byte[2]);
        oneBuffer.set(SHORT, 0, (short) 1);
    }

    @Override
    public void init(EventOps ops) {
        ops.add(rxNotification.fd(), EventSet.IN, RX_QUEUE);
        ops.add(txNotification.fd(), EventSet.IN, TX_QUEUE);
        portInterest = EventSet.IN;
        ops.add(port.fd(), portInterest, PORT);
    }

    @Override
    public void process(Event event, EventOps ops) {
        switch (event.data()) {
            case RX_QUEUE -> {
                rxNotification.read();
                receive();
            }
            case TX_QUEUE -> {
                txNotification.read();
                if (!txWaitingForRoom) {
                    transmit();
                }
            }
            default -> {
                if (event.isErrorOrHangUp()) {
                    hungUp = true;
                }
                if (event.isWritable() || (event.isErrorOrHangUp() && txWaitingForRoom)) {
                    txWaitingForRoom = false;
                    transmit();
                }
                if (event.isReadable() || event.isErrorOrHangUp()) {
                    receive();
                }
            }
        }
        watchPort(ops);
    }

    /**
     * Watches the port for what the device waits for now: frames when it has buffers, room when it has a frame. A port
     * that hung up is left alone while the device has no buffer to read its last frames into (epoll reports a hang-up
     * whatever one asks, so watching it then would spin); the next receive notification reads them, and its end.
     */
    private void watchPort(EventOps ops) {
        if (portGone || broken || (hungUp && rxWaitingForBuffers)) {
            if (portInterest >= 0) {
                ops.remove(port.fd());
                portInterest = -1;
            }
            return;
        }
        int wanted = (rxWaitingForBuffers ? 0 : EventSet.IN) | (txWaitingForRoom ? EventSet.OUT : 0);
        if (portInterest < 0) {
            ops.add(port.fd(), wanted, PORT);
            portInterest = wanted;
        }
        if (wanted != portInterest) {
            ops.modify(port.fd(), wanted, PORT);
            portInterest = wanted;
        }
    }

    /** Fills the guest's receive buffers from the port until either runs out (or the budget does). */
    private void receive() {
        if (broken || portGone) {
            return;
        }
        rxWaitingForBuffers = false;
        int used = 0;
        try {
            rxQueue.disableNotification();
            for (int attempts = 0; attempts < RX_BUDGET; attempts++) {
                if (!rxQueue.popChain(rxChain)) {
                    if (rxQueue.enableNotification()) {
                        rxQueue.disableNotification();
                        continue; // buffers arrived while notifications were off
                    }
                    rxWaitingForBuffers = true;
                    break;
                }
                if (!isReceiveBuffer(rxChain)) {
                    counters.malformedChains++;
                    rxQueue.addUsed(rxChain.head(), 0);
                    used++;
                    continue;
                }
                int entries = vectors.ofWritable(memory, rxChain);
                if (entries < 0) {
                    counters.malformedChains++; // more pieces than one transfer takes: useless as a buffer
                    rxQueue.addUsed(rxChain.head(), 0);
                    used++;
                    continue;
                }
                long received = port.receive(vectors.segment(), entries);
                if (received == FramePort.AGAIN) {
                    rxQueue.undoPop();
                    if (hungUp) {
                        portFailed("receive", received); // nothing left, and nothing more will come
                    }
                    break;
                }
                if (received == 0 || isFatal(received)) {
                    rxQueue.undoPop();
                    portFailed("receive", received);
                    break;
                }
                if (received < NetFeatures.HEADER_BYTES || received > rxChain.writableBytes()) {
                    // An error for one frame, a frame cut short or not a frame: it is gone; the buffer takes the next.
                    counters.rxLost++;
                    rxQueue.undoPop();
                    continue;
                }
                // Without VIRTIO_NET_F_MRG_RXBUF every frame takes one buffer; a tap leaves the field untouched.
                rxChain.writeWritable(NUM_BUFFERS_OFFSET, oneBuffer);
                rxQueue.addUsed(rxChain.head(), received);
                counters.rxFrames++;
                counters.rxBytes += received - NetFeatures.HEADER_BYTES;
                used++;
            }
        } catch (QueueException e) {
            queueBroke(RX_QUEUE, e);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException("a validated receive chain left guest memory: " + rxChain, e);
        }
        if (used > 0 && !broken && rxQueue.needsNotification()) {
            interrupt.signalUsed(RX_QUEUE);
        }
    }

    /** {@return whether a receive error means the port is gone (not just that one frame)} */
    private static boolean isFatal(long result) {
        int errno = (int) -result;
        return errno == LinuxHeaders.EBADFD()
                || errno == LinuxHeaders.EBADF()
                || errno == LinuxHeaders.ENXIO()
                || errno == LinuxHeaders.EPIPE()
                || errno == LinuxHeaders.ECONNRESET();
    }

    private static boolean isReceiveBuffer(DescriptorChain chain) {
        return chain.isValid() && chain.readableBytes() == 0 && chain.writableBytes() >= NetFeatures.HEADER_BYTES;
    }

    /** Sends the guest's frames to the port until the queue is empty or the port is full. */
    private void transmit() {
        if (broken) {
            return;
        }
        int used = 0;
        try {
            txQueue.disableNotification();
            while (true) {
                if (!txQueue.popChain(txChain)) {
                    if (txQueue.enableNotification()) {
                        txQueue.disableNotification();
                        continue;
                    }
                    break;
                }
                if (!isTransmitFrame(txChain)) {
                    counters.malformedChains++;
                    txQueue.addUsed(txChain.head(), 0);
                    used++;
                    continue;
                }
                long sent = portGone ? -1 : send(txChain);
                if (sent == FramePort.AGAIN) {
                    txQueue.undoPop();
                    txWaitingForRoom = true;
                    break;
                }
                if (sent < 0) {
                    counters.txDropped++;
                } else {
                    counters.txFrames++;
                    counters.txBytes += txChain.readableBytes() - NetFeatures.HEADER_BYTES;
                }
                txQueue.addUsed(txChain.head(), 0);
                used++;
            }
        } catch (QueueException e) {
            queueBroke(TX_QUEUE, e);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException("a validated transmit chain left guest memory: " + txChain, e);
        }
        if (used > 0 && !broken && txQueue.needsNotification()) {
            interrupt.signalUsed(TX_QUEUE);
        }
    }

    private static boolean isTransmitFrame(DescriptorChain chain) {
        return chain.isValid()
                && chain.writableBytes() == 0
                && chain.readableBytes() >= NetFeatures.HEADER_BYTES
                && chain.readableBytes() <= NetFeatures.HEADER_BYTES + NetFeatures.MAX_FRAME_BYTES;
    }

    /** {@return what the port said, or -1 for a frame the device refused itself} */
    private long send(DescriptorChain chain) throws GuestMemoryException {
        chain.readReadable(0, header);
        if (!isAcceptableHeader(chain.readableBytes() - NetFeatures.HEADER_BYTES)) {
            return -1;
        }
        int entries = vectors.ofReadable(memory, chain);
        if (entries < 0) {
            return -1;
        }
        long sent = port.send(vectors.segment(), entries);
        if (sent < 0 && sent != FramePort.AGAIN && LOG.isLoggable(System.Logger.Level.DEBUG)) {
            LOG.log(System.Logger.Level.DEBUG, name + ": the port refused a frame: " + Errno.describe((int) -sent));
        }
        return sent;
    }

    /**
     * {@return whether the header the guest wrote asks only for what was negotiated} The guest may rewrite it before
     * the port reads it; the host checks it again then, so this is the spec's line, not the only fence.
     */
    private boolean isAcceptableHeader(long frameBytes) {
        int flags = Byte.toUnsignedInt(header.get(ValueLayout.JAVA_BYTE, 0));
        int gsoType = Byte.toUnsignedInt(header.get(ValueLayout.JAVA_BYTE, 1));
        int hdrLen = Short.toUnsignedInt(header.get(SHORT, 2));
        int csumStart = Short.toUnsignedInt(header.get(SHORT, 6));
        int csumOffset = Short.toUnsignedInt(header.get(SHORT, 8));
        if ((flags & ~HDR_F_NEEDS_CSUM) != 0) {
            return false;
        }
        if ((flags & HDR_F_NEEDS_CSUM) != 0
                && (!has(NetFeatures.CSUM) || (long) csumStart + csumOffset + 2 > frameBytes)) {
            return false;
        }
        int type = gsoType & ~GSO_ECN;
        if (type == GSO_NONE) {
            return gsoType == GSO_NONE;
        }
        boolean negotiated =
                (type == GSO_TCPV4 && has(NetFeatures.HOST_TSO4)) || (type == GSO_UDP && has(NetFeatures.HOST_UFO));
        // Segmentation needs the checksum offload the segments are finished with, and a header inside the frame.
        return negotiated && (flags & HDR_F_NEEDS_CSUM) != 0 && hdrLen <= frameBytes && (gsoType & GSO_ECN) == 0;
    }

    private boolean has(int feature) {
        return (acked & NetFeatures.bit(feature)) != 0;
    }

    /** The port is gone for good: the guest's frames, those waiting for room included, are dropped from now on. */
    private void portFailed(String what, long result) {
        portGone = true;
        if (result == 0 || result == FramePort.AGAIN) {
            LOG.log(System.Logger.Level.WARNING, name + ": the network port closed; the guest's frames are dropped");
        } else {
            LOG.log(
                    System.Logger.Level.WARNING,
                    name + ": " + what + " on the network port failed: " + Errno.describe((int) -result)
                            + "; the guest's frames are dropped from now on");
        }
        txWaitingForRoom = false;
        transmit();
    }

    private void queueBroke(int queue, QueueException e) {
        broken = true;
        interrupt.signalNeedsReset(name + " queue " + queue + ": " + e.getMessage());
    }
}
