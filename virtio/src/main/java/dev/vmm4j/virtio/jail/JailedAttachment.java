// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.jail;

import dev.vmm4j.virtio.mmio.MmioRegisters;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.devices.DeviceContext;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.jail.BusProxy;
import dev.vmm4j.vmm.jail.DeviceLaunch;
import dev.vmm4j.vmm.jail.DeviceProcess;
import dev.vmm4j.vmm.jail.DeviceProcessException;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import dev.vmm4j.vmm.jail.FdSocket;
import dev.vmm4j.vmm.kvm.Datamatch;
import dev.vmm4j.vmm.kvm.IoEventAddress;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The VMM's side of a virtio device in a device process: starts the process, gives it guest memory, the irqfd, the
 * recipe and then the queue eventfds (the conversation {@link VirtioDeviceHost} describes), and puts a
 * {@link BusProxy} on the MMIO bus at the device's window. A device process that dies or stops answering ends the VM
 * with an {@link ExitStatus.Failure} that names the device.
 *
 * <p><b>Ownership:</b> the VM closes the device process (it is registered with the context's {@code closeOnExit}).
 */
public final class JailedAttachment {
    private static final System.Logger LOG = System.getLogger(JailedAttachment.class.getName());

    private final BusProxy proxy;
    private final DeviceProcess process;

    private JailedAttachment(BusProxy proxy, DeviceProcess process) {
        this.proxy = proxy;
        this.process = process;
    }

    /** {@return the bus device at the device's window, which forwards to the device process} */
    public BusProxy proxy() {
        return proxy;
    }

    /** {@return the device process} */
    public DeviceProcess process() {
        return process;
    }

    /**
     * {@return the device {@code recipe} describes, running in a process of its own as {@code sandbox} says, with the
     * register window at {@code base} and the interrupt line {@code irq} that the caller allocated}
     *
     * @param context the VM's devices' context: its guest memory (which must be shared memfds), irqfds, ioeventfds and
     *     threads; the process and the proxy are closed with it
     * @param sandbox how to jail the process, and how long it may take to start and to answer
     * @param recipe what the device process makes; its fds are closed before this method returns, sent or not
     * @param role the device's name ({@code virtio-blk-0})
     * @param base guest-physical address of the device's virtio-mmio register window; queue notifications there go to
     *     the process as ioeventfds
     * @param irq the device's interrupt line, whose irqfd the process gets
     * @throws IllegalStateException if the VM's guest memory cannot be shared with a process (no memfd)
     * @throws IOException if the device process cannot be started or fails to make its device; the message has its
     *     reason
     */
    public static JailedAttachment start(
            DeviceContext context, DeviceSandbox sandbox, DeviceRecipe recipe, String role, long base, int irq)
            throws IOException {
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(sandbox, "sandbox");
        Objects.requireNonNull(recipe, "recipe");
        Objects.requireNonNull(role, "role");
        DeviceProcess process;
        try {
            process = converse(context, sandbox, recipe, role, base, irq);
        } finally {
            recipe.fds().forEach(OwnedFd::close); // the device process has its own now, or none is coming
        }
        BusProxy proxy = new BusProxy(role, process.socket(), sandbox.requestTimeout(), failure -> {
            context.requestExit(new ExitStatus.Failure(role, failure));
            process.kill();
        });
        context.closeOnExit(proxy); // after the process: closed first (in reverse), so nothing reaches its socket after
        return new JailedAttachment(proxy, process);
    }

    /** Starts the process and holds the setup conversation; {@return the process, ready} */
    private static DeviceProcess converse(
            DeviceContext context, DeviceSandbox sandbox, DeviceRecipe recipe, String role, long base, int irq)
            throws IOException {
        List<GuestMemoryMmap.SharedRegion> memory = context.sharedMemory();
        if (memory.isEmpty()) {
            throw new IllegalStateException("a device process needs guest memory it can map (a memfd); this VM's is"
                    + " not (VirtualMachineBuilder.sandbox(..) makes it so)");
        }
        EventFd irqfd = context.irqfd(irq);
        DeviceProcess process = DeviceProcess.start(
                sandbox,
                new DeviceLaunch(
                        role, VirtioDeviceHost.class.getName(), recipe.readOnlyPaths(), recipe.readWritePaths()),
                context.threadFactory(),
                death -> context.requestExit(new ExitStatus.Failure(role, death)));
        context.closeOnExit(process);
        FdSocket socket = process.socket();
        List<String> lines = new ArrayList<>();
        List<Integer> fds = new ArrayList<>();
        for (GuestMemoryMmap.SharedRegion region : memory) {
            lines.add("memory " + region.gpa() + " " + region.size());
            fds.add(region.fd());
        }
        fds.add(irqfd.fd());
        lines.addAll(recipe.encode());
        recipe.fds().forEach(fd -> fds.add(fd.get()));
        socket.send(String.join("\n", lines).getBytes(StandardCharsets.UTF_8), fds);
        int queues = parseQueues(expect(socket, sandbox, role, "queues "), role);
        List<Integer> notifications = new ArrayList<>();
        for (int queue = 0; queue < queues; queue++) {
            notifications.add(context.ioeventfd(
                            new IoEventAddress.Mmio(base + MmioRegisters.QUEUE_NOTIFY), Datamatch.of(4, queue))
                    .fd());
        }
        socket.send("queue eventfds".getBytes(StandardCharsets.UTF_8), notifications);
        if (!expect(socket, sandbox, role, "ready ").equals("landlock=true")) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    role + " runs without Landlock (this kernel lacks it): its"
                            + " namespaces and seccomp filter are its jail");
        }
        return process;
    }

    private static String expect(FdSocket socket, DeviceSandbox sandbox, String role, String prefix)
            throws IOException {
        FdSocket.Message message = socket.receive(sandbox.startTimeout())
                .orElseThrow(() -> new DeviceProcessException(
                        "the device process of " + role + " hung up while it made its device"));
        message.fds().forEach(OwnedFd::close); // none is expected from a device process
        String text = new String(message.bytes(), StandardCharsets.UTF_8);
        if (text.startsWith("failed ")) {
            throw new IOException(role + ": " + text.substring("failed ".length()));
        }
        if (!text.startsWith(prefix)) {
            throw new DeviceProcessException(
                    "the device process of " + role + " said \"" + text + "\" where \"" + prefix + "\" was due");
        }
        return text.substring(prefix.length());
    }

    /** More queues than any virtio device has (virtio-net with many pairs has tens); a bound on what a child claims. */
    private static final int MAX_QUEUES = 1024;

    private static int parseQueues(String count, String role) {
        try {
            int queues = Integer.parseInt(count.strip());
            if (queues < 1 || queues > MAX_QUEUES) {
                throw new NumberFormatException();
            }
            return queues;
        } catch (NumberFormatException e) {
            throw new DeviceProcessException("the device process of " + role + " has a device with \"" + count
                    + "\" queues (1 to " + MAX_QUEUES + ")");
        }
    }
}
