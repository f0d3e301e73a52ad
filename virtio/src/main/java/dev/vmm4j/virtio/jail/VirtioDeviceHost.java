// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.jail;

import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.mmio.MmioTransport;
import dev.vmm4j.vmm.devices.Interrupt;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.jail.BusProxyServer;
import dev.vmm4j.vmm.jail.DeviceControl;
import dev.vmm4j.vmm.jail.FdSocket;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The main class of a device process: connects to the VMM, makes the device its recipe describes over guest memory it
 * maps, closes the jail (Landlock, then the seccomp filter), and serves the device's queues on its own event loop and
 * its registers through a {@link BusProxyServer} until the VMM hangs up.
 *
 * <p>The conversation, each message over the {@link FdSocket}:
 * <ol>
 *   <li>VMM: {@code setup} lines (one {@code memory GPA SIZE} a region, the recipe's lines) with the memfds, the
 *       irqfd and the recipe's fds, in that order;
 *   <li>device: {@code queues N} once the device is made;
 *   <li>VMM: the N queue-notification eventfds;
 *   <li>device: {@code ready landlock=true} (or {@code false}, on a kernel without Landlock) once the jail is closed,
 *       or {@code failed MESSAGE} at any point instead;
 *   <li>then register accesses and control calls, one at a time ({@link dev.vmm4j.vmm.jail.BusProxy}).
 * </ol>
 *
 * Anything that goes wrong ends the process with a status other than 0 and a line on stderr, which the VMM reports.
 */
public final class VirtioDeviceHost {
    static final Duration SETUP_TIMEOUT = Duration.ofSeconds(60);

    private VirtioDeviceHost() {}

    /**
     * Serves one device; {@code args[0]} is the path of the VMM's socket. Never returns: the process halts, with status
     * 0 when the VMM hangs up, 1 when the device fails, 2 for bad arguments, 3 when a thread dies.
     *
     * @param args one argument: the path of the VMM's unix socket
     */
    public static void main(String[] args) {
        Objects.requireNonNull(args, "args"); // before anything of this process is changed
        String device = System.getProperty("vmm4j.device", "device");
        Thread.setDefaultUncaughtExceptionHandler((thread, failure) -> {
            System.err.println(device + ": thread " + thread.getName() + " died: " + failure);
            failure.printStackTrace();
            Runtime.getRuntime().halt(3);
        });
        if (args.length != 1) {
            System.err.println("usage: VirtioDeviceHost SOCKET (started by vmm4j, not by hand)");
            System.exit(2);
        }
        try (FdSocket socket = FdSocket.connect(Path.of(args[0]))) {
            try {
                serve(device, socket);
            } catch (Exception | LinkageError e) {
                String message = e.getMessage() != null ? e.getMessage() : e.toString();
                try {
                    socket.send(("failed " + message).getBytes(java.nio.charset.StandardCharsets.UTF_8), List.of());
                } catch (IOException | RuntimeException ignored) {
                    // the VMM is gone or the socket broke: stderr and the exit status still tell
                }
                throw e;
            }
        } catch (IOException | IllegalArgumentException e) {
            System.err.println(device + ": " + e.getMessage()); // a reason for the user (a locked image), not a bug
            Runtime.getRuntime().halt(1);
        } catch (Exception | LinkageError e) {
            System.err.println(device + ": " + e);
            e.printStackTrace();
            Runtime.getRuntime().halt(1);
        }
        Runtime.getRuntime().halt(0);
    }

    private static void serve(String device, FdSocket socket) throws Exception {
        FdSocket.Message setup = receive(socket, "setup");
        List<String> lines = lines(setup);
        List<OwnedFd> fds = new ArrayList<>(setup.fds());
        GuestMemoryMmap.Builder regions = GuestMemoryMmap.builder();
        int next = 0;
        for (String line : lines) {
            if (line.startsWith("memory ")) {
                String[] words = line.split(" ");
                regions.shared(Long.parseLong(words[1]), Long.parseLong(words[2]), fds.get(next++));
            }
        }
        EventFd irqfd = EventFd.adopt(fds.get(next++).release(), false);
        int recipeFds = DeviceRecipe.fdCount(lines);
        if (fds.size() != next + recipeFds) {
            throw new IllegalArgumentException("the setup came with " + fds.size() + " fds, not " + (next + recipeFds));
        }
        DeviceRecipe recipe = DeviceRecipe.decode(lines, fds.subList(next, fds.size()));
        JailedDeviceFactory factory = Class.forName(recipe.factory())
                .asSubclass(JailedDeviceFactory.class)
                .getConstructor()
                .newInstance();
        try (GuestMemoryMmap memory = regions.build()) {
            VirtioDevice made = factory.create(recipe);
            int queues = made.queueMaxSizes().size();
            socket.send(("queues " + queues).getBytes(java.nio.charset.StandardCharsets.UTF_8), List.of());
            FdSocket.Message notifications = receive(socket, "queue eventfds");
            if (notifications.fds().size() != queues) {
                throw new IllegalArgumentException(
                        "got " + notifications.fds().size() + " queue eventfds for " + queues + " queues");
            }
            List<EventFd> queueEvents = new ArrayList<>();
            for (OwnedFd fd : notifications.fds()) {
                queueEvents.add(EventFd.adopt(fd.release(), true));
            }
            EventLoop loop = EventLoop.create(device);
            MmioTransport transport = new MmioTransport(made, memory, queueEvents, Interrupt.of(irqfd), loop);
            boolean landlocked = DeviceJail.close(recipe, factory.policy(recipe), factory.needsLandlock());
            loop.start(runnable -> {
                Thread thread = new Thread(runnable, device);
                thread.setDaemon(true);
                return thread;
            });
            socket.send(("ready landlock=" + landlocked).getBytes(java.nio.charset.StandardCharsets.UTF_8), List.of());
            DeviceControl control = factory.control(made).orElse((selector, argument) -> {
                throw new IllegalArgumentException(device + " has no operation " + selector);
            });
            new BusProxyServer(socket, transport, control).serve();
            loop.close();
            if (made instanceof AutoCloseable closeable) {
                closeable.close();
            }
        }
    }

    private static FdSocket.Message receive(FdSocket socket, String what) throws IOException {
        return socket.receive(SETUP_TIMEOUT)
                .orElseThrow(() -> new IOException("the VMM hung up before sending the " + what));
    }

    private static List<String> lines(FdSocket.Message message) {
        return List.of(new String(message.bytes(), java.nio.charset.StandardCharsets.UTF_8).split("\n"));
    }
}
