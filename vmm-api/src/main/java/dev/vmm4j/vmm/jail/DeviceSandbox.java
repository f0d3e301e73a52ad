// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * How a VM's devices are jailed (crosvm's sandbox): each device that can runs in its own JVM, started under
 * bubblewrap ({@code bwrap}) with new user, pid, mount, network, IPC, UTS and cgroup namespaces, all capabilities
 * dropped, an empty root with only the JDK, the system libraries it loads, vmm4j's jars and the device's own files
 * bound in read-only (its writable files read-write), and {@code --die-with-parent}; inside, the device installs
 * Landlock rules and a seccomp filter generated from its syscall policy before it touches guest data. The VMM keeps
 * KVM and the vCPUs and forwards register accesses ({@link BusProxy}); the device process gets guest memory (a memfd),
 * its queue eventfds and its irqfd, so the data path never crosses processes.
 *
 * <pre>{@code
 * VirtualMachine.builder().kernel(vmlinux).sandbox(DeviceSandbox.bubblewrap()).device(...).build();
 * }</pre>
 *
 * <p>A builder option with one value may be set once; a second call throws {@link IllegalStateException}, as
 * {@code VirtualMachineBuilder}'s do. Instances are immutable and may be shared by VMs.
 */
public final class DeviceSandbox {
    /** How long a register access waits for the device process by default, crosvm's 2 s. */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(2);

    /**
     * How long a device process may take to start and report ready by default: a JVM starts in well under a second on
     * a quiet machine, but a loaded CI machine can take many times that.
     */
    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(60);

    /** The device JVM's options before the caller's: a small heap and no files of its own. */
    static final List<String> BASE_JAVA_OPTIONS = List.of(
            "-XX:+UseSerialGC",
            "-Xms8m",
            "-Xmx128m",
            "-XX:-UsePerfData",
            "-XX:+DisableAttachMechanism",
            "-XX:+DisplayVMOutputToStderr",
            "-XX:ErrorFile=/tmp/hs_err_pid%p.log",
            "-XX:-CreateCoredumpOnCrash",
            "-Xshare:auto",
            "--enable-native-access=ALL-UNNAMED");

    /** How to do without the sandbox, for every problem's message. */
    private static final String UNSANDBOXED =
            "or run the devices in the VMM's process (no sandbox(..) on the builder; simple-vmm --disable-sandbox)";

    private final Optional<Path> bubblewrap;
    private final List<String> javaOptions;
    private final Duration requestTimeout;
    private final Duration startTimeout;

    private DeviceSandbox(Builder builder) {
        bubblewrap = builder.bubblewrap != null ? Optional.of(builder.bubblewrap) : findOnPath("bwrap");
        javaOptions = builder.javaOptions == null ? List.of() : builder.javaOptions;
        requestTimeout = builder.requestTimeout == null ? DEFAULT_REQUEST_TIMEOUT : builder.requestTimeout;
        startTimeout = builder.startTimeout == null ? DEFAULT_START_TIMEOUT : builder.startTimeout;
    }

    /** {@return the default sandbox: {@code bwrap} from {@code PATH}, the default timeouts} */
    public static DeviceSandbox bubblewrap() {
        return builder().build();
    }

    /** {@return a builder of a sandbox} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the bubblewrap executable, if there is one} */
    public Optional<Path> bubblewrapExecutable() {
        return bubblewrap;
    }

    /** {@return the caller's options for each device JVM, after vmm4j's own (so they win)} */
    public List<String> javaOptions() {
        return javaOptions;
    }

    /** {@return how long a register access waits for a device process} */
    public Duration requestTimeout() {
        return requestTimeout;
    }

    /** {@return how long a device process may take to start and report ready} */
    public Duration startTimeout() {
        return startTimeout;
    }

    /**
     * {@return what keeps this sandbox from working on this host, in words a user can act on; empty if nothing}
     * It runs {@code bwrap} once, with the namespaces a device process gets, to find out.
     */
    public List<String> problems() {
        if (bubblewrap.isEmpty()) {
            return List.of("the device sandbox needs bubblewrap (bwrap), which is not on PATH: apt-get install"
                    + " bubblewrap, " + UNSANDBOXED);
        }
        Path bwrap = bubblewrap.get();
        if (!Files.isExecutable(bwrap)) {
            return List.of("the device sandbox's bubblewrap " + bwrap
                    + " is not an executable file: give the path of bwrap, " + UNSANDBOXED);
        }
        List<String> command = new ArrayList<>(List.of(bwrap.toString()));
        command.addAll(DeviceProcess.NAMESPACE_OPTIONS);
        command.addAll(List.of("--ro-bind", "/", "/", "true"));
        try {
            Process probe =
                    new ProcessBuilder(command).redirectErrorStream(true).start();
            probe.getOutputStream().close();
            if (!probe.waitFor(10, TimeUnit.SECONDS)) {
                probe.destroyForcibly();
                return List.of("bubblewrap (" + bwrap + ") did not start a sandbox within 10 s");
            }
            String output = new String(probe.getInputStream().readAllBytes()).strip();
            if (probe.exitValue() != 0 && output.contains("Unknown option")) {
                return List.of("bubblewrap (" + bwrap + ") is too old for the device sandbox (" + output + "): it needs"
                        + " bubblewrap 0.8 or later (--disable-userns), " + UNSANDBOXED);
            }
            if (probe.exitValue() != 0) {
                return List.of("bubblewrap cannot make the device sandbox's namespaces here (" + output + "): this"
                        + " host may not allow user namespaces (sysctl kernel.unprivileged_userns_clone=1,"
                        + " user.max_user_namespaces), " + UNSANDBOXED);
            }
            return List.of();
        } catch (IOException e) {
            return List.of("bubblewrap (" + bwrap + ") cannot be run: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of("interrupted while checking bubblewrap");
        }
    }

    private static Optional<Path> findOnPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String directory : path.split(File.pathSeparator)) {
            if (!directory.isEmpty()) {
                Path candidate = Path.of(directory, name);
                if (Files.isExecutable(candidate)) {
                    return Optional.of(candidate);
                }
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return "DeviceSandbox[bwrap " + bubblewrap.map(Path::toString).orElse("(none on PATH)") + ", request timeout "
                + requestTimeout.toMillis() + " ms, start timeout " + startTimeout.toSeconds() + " s"
                + (javaOptions.isEmpty() ? "" : ", java " + javaOptions) + "]";
    }

    /** Collects a sandbox's options; each may be set once. */
    public static final class Builder {
        private Path bubblewrap;
        private List<String> javaOptions;
        private Duration requestTimeout;
        private Duration startTimeout;

        private Builder() {}

        /**
         * Uses {@code executable} as bubblewrap instead of {@code bwrap} from {@code PATH}.
         *
         * @param executable the path of {@code bwrap}; that it can be run is checked by {@link DeviceSandbox#problems()}
         * @return this
         */
        public Builder bubblewrap(Path executable) {
            requireUnset(bubblewrap, "bubblewrap");
            bubblewrap = Objects.requireNonNull(executable, "executable");
            return this;
        }

        /**
         * Adds {@code options} to each device JVM's command line, after vmm4j's own ({@code -Xmx256m}, say).
         *
         * @param options one command-line argument each, passed as they are; none may be null
         * @return this
         */
        public Builder javaOptions(String... options) {
            requireUnset(javaOptions, "javaOptions");
            javaOptions = List.of(options);
            return this;
        }

        /**
         * Sets how long a register access waits for a device process (default 2 s).
         *
         * @param timeout at least 1 ms; a device process that does not answer in time is taken as broken, and its VM
         *     ends
         * @return this
         * @throws IllegalArgumentException if it is shorter than 1 ms
         */
        public Builder requestTimeout(Duration timeout) {
            requireUnset(requestTimeout, "requestTimeout");
            requestTimeout = positive(timeout, "requestTimeout");
            return this;
        }

        /**
         * Sets how long a device process may take to start and report ready (default 60 s).
         *
         * @param timeout at least 1 ms; a device process that does not connect in time fails the VM's build
         * @return this
         * @throws IllegalArgumentException if it is shorter than 1 ms
         */
        public Builder startTimeout(Duration timeout) {
            requireUnset(startTimeout, "startTimeout");
            startTimeout = positive(timeout, "startTimeout");
            return this;
        }

        /** {@return the sandbox} */
        public DeviceSandbox build() {
            return new DeviceSandbox(this);
        }

        private static Duration positive(Duration timeout, String what) {
            Objects.requireNonNull(timeout, what);
            if (timeout.isNegative() || timeout.isZero() || timeout.toMillis() == 0) {
                throw new IllegalArgumentException(what + " must be at least 1 ms, got " + timeout);
            }
            return timeout;
        }

        private static void requireUnset(Object value, String option) {
            if (value != null) {
                throw new IllegalStateException(option + " is already set; each option may be set once");
            }
        }
    }
}
