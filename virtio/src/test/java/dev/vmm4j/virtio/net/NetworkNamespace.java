// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A network namespace a test makes for itself (with iproute2's {@code ip netns}), so that its taps, addresses and
 * traffic never touch the machine's own interfaces; deleted, with every interface in it, on {@link #close()}.
 * Code runs inside it on a thread of its own that entered it with {@code setns} ({@link #inside}): a tap or socket
 * made there belongs to the namespace for good, whichever thread uses it later.
 */
public final class NetworkNamespace implements AutoCloseable {
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final String name;

    private NetworkNamespace(String name) {
        this.name = name;
    }

    /**
     * {@return a new, empty namespace (its loopback brought up)} Skips the test, with the reason, where this process
     * may not make one (it needs CAP_NET_ADMIN and iproute2); CI runs as root with iproute2 installed.
     */
    public static NetworkNamespace create() throws IOException, InterruptedException {
        assumeTrue(
                Files.isExecutable(Path.of("/usr/sbin/ip")) || Files.isExecutable(Path.of("/sbin/ip")),
                "network tests need iproute2's ip (apt install iproute2)");
        assumeTrue(
                hasNetAdmin(),
                "network tests make a network namespace and a tap, which needs CAP_NET_ADMIN: run them as root");
        String name = "vmm4j-" + ProcessHandle.current().pid() + "-" + COUNTER.incrementAndGet();
        run(List.of("ip", "netns", "add", name));
        NetworkNamespace namespace = new NetworkNamespace(name);
        namespace.exec("ip", "link", "set", "lo", "up");
        return namespace;
    }

    /** {@return whether this process has CAP_NET_ADMIN (bit 12 of its effective capabilities)} */
    static boolean hasNetAdmin() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("CapEff:")) {
                return (Long.parseUnsignedLong(
                                        line.substring("CapEff:".length()).strip(), 16)
                                & (1L << 12))
                        != 0;
            }
        }
        return false;
    }

    /** {@return the namespace's name, as {@code ip netns} knows it} */
    public String name() {
        return name;
    }

    /** {@return what {@code task} returns, run on a new thread inside this namespace} */
    public <T> T inside(Callable<T> task) throws Exception {
        FutureTask<T> future = new FutureTask<>(() -> {
            try (OwnedFd namespace = new OwnedFd(
                    Libc.open("/run/netns/" + name, LinuxHeaders.O_RDONLY(), "(a test's network namespace)"),
                    "network namespace " + name)) {
                Libc.setns(namespace.get(), LinuxHeaders.CLONE_NEWNET());
            }
            return task.call();
        });
        // A platform thread: its kernel thread ends with it, and the namespace change with it.
        Thread thread = Thread.ofPlatform().name("in-" + name).start(future);
        try {
            return future.get(1, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        } finally {
            if (!future.isDone()) {
                thread.interrupt();
            }
            thread.join(TimeUnit.SECONDS.toMillis(10));
        }
    }

    /** Runs {@code command} inside the namespace. {@return its output} @throws IOException if it fails */
    public String exec(String... command) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(List.of(command));
        return run(full);
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(2, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish:\n" + output);
        }
        if (process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed with " + process.exitValue() + ":\n" + output);
        }
        return output;
    }

    /** Deletes the namespace; the interfaces in it go with it once nothing holds them. */
    @Override
    public void close() throws IOException, InterruptedException {
        run(List.of("ip", "netns", "del", name));
    }

    @Override
    public String toString() {
        return "NetworkNamespace[" + name + "]";
    }
}
