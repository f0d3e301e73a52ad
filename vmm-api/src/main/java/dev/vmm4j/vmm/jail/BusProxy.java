// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.kvm.bindings.pollfd;
import dev.vmm4j.vmm.bus.BusDevice;
import dev.vmm4j.vmm.sys.Libc;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The bus device that stands in the VMM for a device served by another process, as crosvm's ProxyDevice does: each
 * guest register read or write goes over a {@link FdSocket} to the {@link BusProxyServer} there, and waits for its
 * answer for at most the request timeout (crosvm's 2 s).
 *
 * <p>A device process that does not answer in time, hangs up or answers nonsense is broken for good: the proxy hands
 * a {@link DeviceProcessException} naming the device to its failure handler once (the VM ends with it), and from then
 * on reads return all ones, as absent hardware does, and writes are dropped, so that a vCPU never waits on it again.
 *
 * <p>An access allocates nothing: the messages live in buffers the proxy keeps.
 *
 * <p>Each request carries a sequence number the answer must echo, and a request is sent without waiting: a device
 * process that answers what was not asked, or leaves requests unread until the socket is full, is broken rather than
 * able to make a vCPU wait without a time limit.
 *
 * <p><b>Ownership:</b> the proxy uses the socket but does not own it; the device process does. {@link #close()} (the VM
 * calls it before it closes the device process) makes every later call fail at once, so that nothing reaches an fd
 * number the kernel may have given to something else.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; vCPUs take turns (one request is in flight at a time).
 */
public final class BusProxy implements BusDevice, AutoCloseable {
    private final String device;
    private final int socket;
    private final long timeoutNanos;
    private final Consumer<DeviceProcessException> onFailure;
    // Guarded by this.
    private final MemorySegment request;
    private final MemorySegment reply;
    private final MemorySegment pollFd;
    private boolean broken;
    private boolean closed;
    private short sequence;

    /**
     * A proxy for {@code device} (its name, for messages) over {@code socket}, which must outlive it.
     *
     * @param device the device's name, such as {@code virtio-blk-0}, in the exceptions it makes
     * @param socket the VMM's end of the socket pair to the device process's {@link BusProxyServer}; only its fd
     *     number is kept, so the socket must stay open until {@link #close()}
     * @param timeout how long an access waits for the answer; positive
     * @param onFailure told once when the device process breaks
     */
    public BusProxy(String device, FdSocket socket, Duration timeout, Consumer<DeviceProcessException> onFailure) {
        this.device = Objects.requireNonNull(device, "device");
        this.socket = Objects.requireNonNull(socket, "socket").fd();
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(onFailure, "onFailure");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("a proxy's timeout must be positive, not " + timeout);
        }
        this.timeoutNanos = timeout.toNanos();
        this.onFailure = onFailure;
        Arena arena = Arena.ofAuto();
        request = arena.allocate(ProxyMessages.SIZE, 8);
        reply = arena.allocate(ProxyMessages.SIZE, 8);
        pollFd = arena.allocate(pollfd.layout());
        pollfd.fd(pollFd, this.socket);
        pollfd.events(pollFd, (short) LinuxHeaders.POLLIN());
    }

    @Override
    public synchronized void read(long offset, MemorySegment data) {
        int length = (int) data.byteSize();
        if (broken || closed || length < 1 || length > ProxyMessages.MAX_ACCESS) {
            data.fill((byte) 0xff);
            return;
        }
        prepare(ProxyMessages.READ, length, 0, offset);
        if (exchange() && reply.get(ValueLayout.JAVA_BYTE, ProxyMessages.OP) == ProxyMessages.OK) {
            MemorySegment.copy(reply, ProxyMessages.DATA, data, 0, length);
        } else {
            data.fill((byte) 0xff); // a device that failed the read answers as absent hardware does
        }
    }

    @Override
    public synchronized void write(long offset, MemorySegment data) {
        int length = (int) data.byteSize();
        if (broken || closed || length < 1 || length > ProxyMessages.MAX_ACCESS) {
            return;
        }
        prepare(ProxyMessages.WRITE, length, 0, offset);
        MemorySegment.copy(data, 0, request, ProxyMessages.DATA, length);
        exchange();
    }

    /**
     * {@return the result of the device's own operation {@code selector} with {@code argument}} (see
     * {@link DeviceControl}).
     *
     * @param selector which operation, as the device numbers them
     * @param argument passed to the device's {@link DeviceControl#call} as it is
     * @throws DeviceProcessException if the device process is broken or refused the operation
     * @throws IllegalStateException if the proxy is closed
     */
    public synchronized long control(int selector, long argument) {
        if (closed) {
            throw new IllegalStateException(device + " is closed: its VM was closed");
        }
        if (broken) {
            throw new DeviceProcessException("the device process of " + device + " has failed");
        }
        prepare(ProxyMessages.CONTROL, 0, selector, argument);
        if (!exchange()) {
            throw new DeviceProcessException("the device process of " + device + " has failed");
        }
        if (reply.get(ValueLayout.JAVA_BYTE, ProxyMessages.OP) != ProxyMessages.OK) {
            throw new DeviceProcessException(device + " refused operation " + selector + " (" + argument + ")");
        }
        return reply.get(ProxyMessages.LONG, ProxyMessages.DATA);
    }

    /** Makes every later access answer nothing and every control call throw; the socket stays open. Idempotent. */
    @Override
    public synchronized void close() {
        closed = true;
    }

    /** {@return whether the device process has failed, so that the proxy answers nothing more} */
    public synchronized boolean isBroken() {
        return broken;
    }

    private void prepare(byte op, int length, int selector, long argument) {
        request.fill((byte) 0);
        request.set(ValueLayout.JAVA_BYTE, ProxyMessages.OP, op);
        request.set(ValueLayout.JAVA_BYTE, ProxyMessages.LENGTH, (byte) length);
        request.set(ProxyMessages.SHORT, ProxyMessages.SEQUENCE, ++sequence);
        request.set(ProxyMessages.INT, ProxyMessages.SELECTOR, selector);
        request.set(ProxyMessages.LONG, ProxyMessages.ARGUMENT, argument);
    }

    /**
     * Sends the request and waits for the reply; false (and broken) if the device process failed. Allocates nothing
     * unless it fails.
     */
    private boolean exchange() {
        // Without waiting: one request is in flight at a time, so a full socket means the device leaves them unread.
        long sent = Libc.send(socket, request, 0, ProxyMessages.SIZE);
        if (sent != ProxyMessages.SIZE) {
            return fail(what() + " could not be sent"
                    + (sent == -LinuxHeaders.EAGAIN()
                            ? ": its socket is full of requests it left unread"
                            : sent < 0 ? ": " + new NativeCallException("send", (int) -sent).getMessage() : ""));
        }
        try {
            if (!FdSocket.poll(pollFd, timeoutNanos)) {
                return fail("it did not answer " + what() + " within " + timeoutNanos / 1_000_000 + " ms");
            }
        } catch (IOException e) {
            return fail(e.getMessage());
        }
        long received;
        do {
            received = Libc.read(socket, reply, 0, ProxyMessages.SIZE);
        } while (received == -LinuxHeaders.EINTR());
        if (received == 0) {
            return fail("it hung up before answering " + what());
        }
        if (received != ProxyMessages.SIZE) {
            return fail("its answer to " + what() + " was "
                    + (received < 0
                            ? new NativeCallException("read", (int) -received).getMessage()
                            : received + " bytes, not " + ProxyMessages.SIZE));
        }
        if (reply.get(ProxyMessages.SHORT, ProxyMessages.SEQUENCE) != sequence) {
            return fail("its answer to " + what() + " answers another request");
        }
        byte status = reply.get(ValueLayout.JAVA_BYTE, ProxyMessages.OP);
        return status == ProxyMessages.OK
                || status == ProxyMessages.FAILED
                || fail("it answered " + what() + " with nonsense");
    }

    /** {@return the request in words, for a failure's message} */
    private String what() {
        long argument = request.get(ProxyMessages.LONG, ProxyMessages.ARGUMENT);
        return switch (request.get(ValueLayout.JAVA_BYTE, ProxyMessages.OP)) {
            case ProxyMessages.READ -> String.format(Locale.ROOT, "a register read at offset %#x", argument);
            case ProxyMessages.WRITE -> String.format(Locale.ROOT, "a register write at offset %#x", argument);
            default -> "operation " + request.get(ProxyMessages.INT, ProxyMessages.SELECTOR);
        };
    }

    private boolean fail(String reason) {
        broken = true;
        onFailure.accept(new DeviceProcessException("the device process of " + device + " failed: " + reason));
        return false;
    }

    @Override
    public String toString() {
        return "BusProxy[" + device + "]";
    }
}
