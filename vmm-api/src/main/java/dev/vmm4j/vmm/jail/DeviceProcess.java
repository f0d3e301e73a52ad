// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.kvm.bindings.pollfd;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * A device's own JVM, jailed by bubblewrap as a {@link DeviceSandbox} says, connected to the VMM by a
 * {@link FdSocket}. The child gets no fd from its parent but its standard streams (stdin empty, stdout discarded,
 * stderr read into the VMM's log): it connects to a socket in a private directory bound into the jail, and
 * everything else (guest memory, eventfds, device files) comes over that socket with {@code SCM_RIGHTS}.
 *
 * <p>A child that exits while the VMM has not asked it to is reported once to the death handler, with its exit
 * status and the last lines it wrote to stderr; the VM ends with that. The process is started, and waited for, on a
 * thread of its own that lives as long as the child does: bubblewrap's {@code --die-with-parent} follows the thread
 * that started it, so the child cannot outlive the VMM, nor die early because the thread that built the VM ended.
 *
 * <p><b>Ownership:</b> the process owns the socket and the child; {@link #close()} hangs up, waits briefly for the
 * child to exit, kills it if it has not, and reaps it.
 */
public final class DeviceProcess implements AutoCloseable {
    /** The namespaces and limits of every device process: bubblewrap's options before the mounts. */
    static final List<String> NAMESPACE_OPTIONS = List.of(
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--clearenv");

    /** Where the jail shows the directory of the socket the child connects to. */
    static final String SOCKET_DIRECTORY = "/run/vmm4j";

    private static final System.Logger LOG = System.getLogger(DeviceProcess.class.getName());
    private static final int STDERR_LINES = 12;
    private static final int STDERR_LINE_BYTES = 1024;
    private static final int STDERR_LOGGED_LINES = 1000;

    private final String device;
    private final Consumer<DeviceProcessException> onDeath;
    private final CompletableFuture<Process> started = new CompletableFuture<>();
    /** Whether {@link #start} succeeded: a child that dies while it is started is start's failure, not a death. */
    private final CompletableFuture<Boolean> startSucceeded = new CompletableFuture<>();
    // Guarded by itself.
    private final Deque<String> stderrTail = new ArrayDeque<>();
    private volatile boolean closing;
    private volatile Thread stderrReader;
    private FdSocket socket;

    private DeviceProcess(String device, Consumer<DeviceProcessException> onDeath) {
        this.device = device;
        this.onDeath = onDeath;
    }

    /**
     * Starts the device process {@code launch} describes in {@code sandbox} and waits until it connects.
     *
     * @param sandbox the bubblewrap executable, the device JVM's options and the start timeout
     * @param launch the device's name, main class and the host files its jail shows
     * @param threads makes the threads that start and wait for the child and read its stderr
     * @param onDeath told once if the child exits before {@link #close()}
     * @return the connected process, the caller's to close
     * @throws DeviceProcessException if bubblewrap is missing, or the child exits or does not connect in time; the
     *     message has its stderr's last lines
     * @throws IOException if the socket cannot be made or accepted, bubblewrap cannot be run, or the calling thread is
     *     interrupted while it waits for the child to start
     */
    public static DeviceProcess start(
            DeviceSandbox sandbox, DeviceLaunch launch, ThreadFactory threads, Consumer<DeviceProcessException> onDeath)
            throws IOException {
        Objects.requireNonNull(sandbox, "sandbox");
        Objects.requireNonNull(launch, "launch");
        Objects.requireNonNull(threads, "threads");
        Objects.requireNonNull(onDeath, "onDeath");
        Path bwrap = sandbox.bubblewrapExecutable()
                .orElseThrow(() -> new DeviceProcessException(launch.device() + " is to run in a device process,"
                        + " which needs bubblewrap (bwrap) on PATH (apt-get install bubblewrap)"));
        DeviceProcess process = new DeviceProcess(launch.device(), onDeath);
        Path directory = Files.createTempDirectory("vmm4j-device-");
        Path socketPath = directory.resolve("device.sock");
        try (OwnedFd listener = new OwnedFd(
                Libc.socket(LinuxHeaders.AF_UNIX(), LinuxHeaders.SOCK_SEQPACKET(), "a device process's connection"),
                "device process listener")) {
            Libc.bindAndListen(listener.get(), socketPath);
            List<String> command = command(bwrap, sandbox, launch, directory);
            threads.newThread(() -> process.keep(command, threads)).start();
            Process child = process.awaitStart();
            process.socket = process.accept(listener.get(), child, sandbox);
            process.startSucceeded.complete(true);
            return process;
        } catch (Throwable failure) { // an Error too: the keeper waits to learn whether start succeeded
            process.startSucceeded.complete(false);
            process.close();
            throw failure;
        } finally {
            deleteQuietly(socketPath);
            deleteQuietly(directory);
        }
    }

    /** Deletes the connection's socket or directory; one that cannot be deleted is left, with a log line. */
    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot delete " + path + ": " + e);
        }
    }

    private static List<String> command(Path bwrap, DeviceSandbox sandbox, DeviceLaunch launch, Path socketDirectory) {
        Path javaHome = Path.of(System.getProperty("java.home"));
        List<Path> classPath = ClassPath.ofThisJvm();
        List<String> command = new ArrayList<>(List.of(bwrap.toString()));
        command.addAll(NAMESPACE_OPTIONS);
        for (Path library : SystemLibraries.directories()) {
            command.addAll(List.of("--ro-bind", library.toString(), library.toString()));
        }
        SystemLibraries.links().forEach((link, target) -> command.addAll(List.of("--symlink", target, link)));
        command.addAll(List.of("--ro-bind", javaHome.toString(), javaHome.toString()));
        command.addAll(List.of("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"));
        for (Path entry : classPath) {
            command.addAll(List.of("--ro-bind", entry.toString(), entry.toString()));
        }
        for (Path path : launch.readOnlyPaths()) {
            command.addAll(List.of("--ro-bind", path.toString(), path.toString()));
        }
        for (Path path : launch.readWritePaths()) {
            command.addAll(List.of("--bind", path.toString(), path.toString()));
        }
        // Read-only: connecting to a socket needs no write access to its file system, and the child leaves nothing.
        command.addAll(List.of("--ro-bind", socketDirectory.toString(), SOCKET_DIRECTORY, "--chdir", "/"));
        command.add(javaHome.resolve("bin").resolve("java").toString());
        command.addAll(DeviceSandbox.BASE_JAVA_OPTIONS);
        command.addAll(sandbox.javaOptions());
        command.add("-Dvmm4j.device=" + launch.device());
        command.addAll(
                List.of("-cp", classPath.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator))));
        command.add(launch.mainClass());
        command.add(SOCKET_DIRECTORY + "/device.sock");
        return command;
    }

    /** The keeper thread: starts the child, waits for it, and reports an exit nobody asked for. */
    private void keep(List<String> command, ThreadFactory threads) {
        Thread.currentThread().setName("device process " + device);
        Process child;
        try {
            child = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException | RuntimeException e) {
            started.completeExceptionally(e);
            return;
        }
        Thread stderr = threads.newThread(() -> pumpStderr(child));
        stderr.start();
        stderrReader = stderr;
        started.complete(child);
        int status;
        while (true) {
            try {
                status = child.waitFor();
                break;
            } catch (InterruptedException e) {
                // Only close() ends the child; keep waiting for it.
            }
        }
        awaitStderr();
        if (startSucceeded.join() && !closing) {
            onDeath.accept(new DeviceProcessException(
                    "the device process of " + device + " " + describeExit(status) + stderrSummary()));
        }
    }

    private Process awaitStart() throws IOException {
        try {
            return started.get();
        } catch (ExecutionException e) {
            throw new IOException(
                    "cannot start the device process of " + device + ": "
                            + e.getCause().getMessage(),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting the device process of " + device, e);
        }
    }

    private FdSocket accept(int listener, Process child, DeviceSandbox sandbox) throws IOException {
        long deadline = System.nanoTime() + sandbox.startTimeout().toNanos();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pollFd = arena.allocate(pollfd.layout());
            pollfd.fd(pollFd, listener);
            pollfd.events(pollFd, (short) LinuxHeaders.POLLIN());
            while (!FdSocket.poll(pollFd, TimeUnit.MILLISECONDS.toNanos(100))) {
                if (!child.isAlive()) {
                    awaitStderr();
                    throw new DeviceProcessException("the device process of " + device + " "
                            + describeExit(child.exitValue()) + " before it connected" + stderrSummary());
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new DeviceProcessException("the device process of " + device + " did not connect within "
                            + sandbox.startTimeout().toSeconds() + " s" + stderrSummary());
                }
            }
        }
        int fd = Libc.accept(listener);
        if (fd < 0) {
            throw new IOException("accepting the device process of " + device + " failed: "
                    + new NativeCallException("accept4", -fd).getMessage());
        }
        Libc.fcntl(fd, LinuxHeaders.F_SETFL(), 0); // blocking: every wait goes through poll with a time limit
        return FdSocket.adopt(fd, "socket to the device process of " + device);
    }

    /**
     * The stderr reader: logs the child's lines, each cut at {@link #STDERR_LINE_BYTES} with control characters shown
     * as {@code ?}, the first {@link #STDERR_LOGGED_LINES} of them (then it only counts), and keeps the last few for
     * the death message. A child that writes without end costs the VMM a fixed buffer, not its memory or its log.
     */
    private void pumpStderr(Process child) {
        Thread.currentThread().setName("device process " + device + " stderr");
        byte[] line = new byte[STDERR_LINE_BYTES];
        int length = 0;
        long lines = 0;
        try (InputStream in = child.getErrorStream()) {
            byte[] chunk = new byte[8192];
            int read;
            while ((read = in.read(chunk)) >= 0) {
                for (int i = 0; i < read; i++) {
                    byte b = chunk[i];
                    if (b == '\n' || length == line.length) {
                        keepLine(line, length, ++lines);
                        length = 0;
                        if (b == '\n') {
                            continue;
                        }
                    }
                    line[length++] = b;
                }
            }
            if (length > 0) {
                keepLine(line, length, ++lines);
            }
        } catch (IOException e) {
            // The child is gone; its exit is reported by the keeper.
        }
        if (lines > STDERR_LOGGED_LINES) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    device + " (device process) wrote " + lines + " lines to stderr; the" + " first "
                            + STDERR_LOGGED_LINES + " were logged");
        }
    }

    private void keepLine(byte[] line, int length, long number) {
        char[] text = new char[length];
        for (int i = 0; i < length; i++) {
            int c = line[i] & 0xff;
            text[i] = c >= 0x20 && c < 0x7f ? (char) c : c == '\t' ? ' ' : '?';
        }
        String kept = new String(text);
        if (number <= STDERR_LOGGED_LINES) {
            LOG.log(System.Logger.Level.INFO, device + " (device process): " + kept);
        }
        synchronized (stderrTail) {
            if (stderrTail.size() == STDERR_LINES) {
                stderrTail.removeFirst();
            }
            stderrTail.addLast(kept);
        }
    }

    /** Waits (briefly) for the stderr reader to take the last lines of a child that has exited. */
    private void awaitStderr() {
        Thread reader = stderrReader;
        if (reader != null) {
            try {
                reader.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** {@return the child's stderr's last lines, for a message} */
    private String stderrSummary() {
        synchronized (stderrTail) {
            return stderrTail.isEmpty() ? "" : "; its last words: " + String.join(" | ", stderrTail);
        }
    }

    private static String describeExit(int status) {
        return status > 128
                ? "was killed by signal " + (status - 128)
                : status == 0 ? "exited" : "exited with status " + status;
    }

    /** {@return the socket to the child} */
    public FdSocket socket() {
        return socket;
    }

    /** {@return the device this process serves} */
    public String device() {
        return device;
    }

    /**
     * {@return the processes of the jail: bubblewrap and, below it, the device's JVM} For tests and tools that look at
     * (or kill) the child.
     */
    public List<ProcessHandle> processes() {
        Process child = started.getNow(null);
        if (child == null) {
            return List.of();
        }
        List<ProcessHandle> all = new ArrayList<>();
        all.add(child.toHandle());
        child.descendants().forEach(all::add);
        return all;
    }

    /** {@return whether the child is still running} */
    public boolean isAlive() {
        Process child = started.getNow(null);
        return child != null && child.isAlive();
    }

    /**
     * Kills the child at once (SIGKILL to the device's JVM and bubblewrap), as when it stopped answering; its death is
     * reported as any other. The process still needs {@link #close()}.
     */
    public void kill() {
        Process child = started.getNow(null);
        if (child != null) {
            destroyJail(child);
        }
    }

    /** SIGKILLs bubblewrap and everything below it, the device's JVM included. */
    private static void destroyJail(Process child) {
        child.descendants().forEach(ProcessHandle::destroyForcibly);
        child.destroyForcibly();
    }

    /** Hangs up, gives the child 2 s to exit, kills it if it has not, and reaps it. Idempotent. */
    @Override
    public void close() {
        closing = true;
        if (socket != null) {
            socket.close();
        }
        Process child;
        try {
            // A start still on its way (an interrupted build) is waited for, so that no child outlives its close.
            child = started.get(5, TimeUnit.SECONDS);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            child = null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            child = started.getNow(null);
        }
        if (child == null) {
            return;
        }
        boolean interrupted = false;
        try {
            if (!child.waitFor(2, TimeUnit.SECONDS)) {
                destroyJail(child);
                child.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            interrupted = true;
            destroyJail(child);
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "DeviceProcess[" + device + "]";
    }
}
