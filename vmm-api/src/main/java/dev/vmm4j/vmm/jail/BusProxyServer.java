// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.vmm.bus.BusDevice;
import dev.vmm4j.vmm.sys.Libc;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * The device process's end of a {@link BusProxy}: answers the VMM's register reads and writes with a bus device, and
 * its {@link DeviceControl} calls, one at a time, until the VMM hangs up.
 *
 * <p>A request it cannot understand is answered with a failure rather than acted on; a device that throws on an
 * access is answered so too (the VMM then decides), so the device process goes on.
 */
public final class BusProxyServer {
    private final FdSocket socket;
    private final BusDevice device;
    private final DeviceControl control;
    private final MemorySegment request;
    private final MemorySegment reply;
    private final MemorySegment[] accesses = new MemorySegment[ProxyMessages.MAX_ACCESS + 1];

    /**
     * A server of {@code device} and {@code control} over {@code socket}, which it uses but does not own.
     *
     * @param socket the device process's end of the socket pair whose other end the VMM's {@link BusProxy} holds
     * @param device answers the register accesses, at the offsets the proxy got them (1 to 8 bytes each)
     * @param control answers the proxy's {@link BusProxy#control} calls
     */
    public BusProxyServer(FdSocket socket, BusDevice device, DeviceControl control) {
        this.socket = Objects.requireNonNull(socket, "socket");
        this.device = Objects.requireNonNull(device, "device");
        this.control = Objects.requireNonNull(control, "control");
        Arena arena = Arena.ofAuto();
        request = arena.allocate(ProxyMessages.SIZE, 8);
        reply = arena.allocate(ProxyMessages.SIZE, 8);
        MemorySegment data = arena.allocate(ProxyMessages.MAX_ACCESS, 8);
        for (int length = 1; length <= ProxyMessages.MAX_ACCESS; length++) {
            accesses[length] = data.asSlice(0, length);
        }
    }

    /**
     * Serves requests until the VMM hangs up; returns then.
     *
     * @throws IOException if the socket fails or the VMM sends a message of the wrong size
     */
    public void serve() throws IOException {
        while (true) {
            long received;
            do {
                received = Libc.read(socket.fd(), request, 0, ProxyMessages.SIZE);
            } while (received == -LinuxHeaders.EINTR());
            if (received == 0) {
                return;
            }
            if (received < 0) {
                throw new IOException("reading the VMM's requests failed: "
                        + new NativeCallException("read", (int) -received).getMessage());
            }
            if (received != ProxyMessages.SIZE) {
                throw new IOException("the VMM sent a request of " + received + " bytes, not " + ProxyMessages.SIZE);
            }
            answer();
            // write(2), not send(2): a device's seccomp policy need not allow sendto for this.
            long sent = Libc.write(socket.fd(), reply);
            if (sent != ProxyMessages.SIZE) {
                throw new IOException("answering the VMM failed"
                        + (sent < 0 ? ": " + new NativeCallException("write", (int) -sent).getMessage() : ""));
            }
        }
    }

    private void answer() {
        reply.fill((byte) 0);
        reply.set(
                ProxyMessages.SHORT, ProxyMessages.SEQUENCE, request.get(ProxyMessages.SHORT, ProxyMessages.SEQUENCE));
        byte status = ProxyMessages.OK;
        int length = Byte.toUnsignedInt(request.get(ValueLayout.JAVA_BYTE, ProxyMessages.LENGTH));
        long argument = request.get(ProxyMessages.LONG, ProxyMessages.ARGUMENT);
        try {
            switch (ProxyMessages.op(request)) {
                case ProxyMessages.READ -> {
                    if (length < 1 || length > ProxyMessages.MAX_ACCESS) {
                        status = ProxyMessages.FAILED;
                    } else {
                        MemorySegment data = accesses[length];
                        data.fill((byte) 0);
                        device.read(argument, data);
                        MemorySegment.copy(data, 0, reply, ProxyMessages.DATA, length);
                    }
                }
                case ProxyMessages.WRITE -> {
                    if (length < 1 || length > ProxyMessages.MAX_ACCESS) {
                        status = ProxyMessages.FAILED;
                    } else {
                        MemorySegment data = accesses[length];
                        MemorySegment.copy(request, ProxyMessages.DATA, data, 0, length);
                        device.write(argument, data);
                    }
                }
                case ProxyMessages.CONTROL -> {
                    long result = control.call(request.get(ProxyMessages.INT, ProxyMessages.SELECTOR), argument);
                    reply.set(ProxyMessages.LONG, ProxyMessages.DATA, result);
                }
                default -> status = ProxyMessages.FAILED;
            }
        } catch (RuntimeException e) {
            System.getLogger(BusProxyServer.class.getName())
                    .log(System.Logger.Level.WARNING, "a proxied request failed: " + e.getMessage(), e);
            status = ProxyMessages.FAILED;
        }
        reply.set(ValueLayout.JAVA_BYTE, ProxyMessages.OP, status);
    }
}
