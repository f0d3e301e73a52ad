// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.jail;

import dev.vmm4j.kvm.bindings.Errno;
import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How a device process makes its device: the {@link JailedDeviceFactory} class to make it with, the device's kind
 * ({@code virtio-blk}, for its name), settings as text, the host files the jail shows it (read-only or read-write, at
 * the same paths), and fds the VMM opened for it (a tap, say), which cross with {@code SCM_RIGHTS}.
 *
 * <p><b>Ownership:</b> a recipe owns its fds. In the VMM they are closed once sent (the device process has its own);
 * in the device process the factory takes those it keeps.
 *
 * @param factory the binary name of the {@link JailedDeviceFactory} class the device process makes the device with
 * @param kind the device's kind, such as {@code virtio-blk}, for names and messages
 * @param settings the factory's settings, as text; copied, in no particular order
 * @param readOnlyPaths host paths the jail shows read-only, at the same paths; copied
 * @param readWritePaths host paths the jail shows read-write, at the same paths; copied
 * @param fds the fds passed to the device process, in order; copied, but the recipe owns the fds themselves
 */
public record DeviceRecipe(
        String factory,
        String kind,
        Map<String, String> settings,
        List<Path> readOnlyPaths,
        List<Path> readWritePaths,
        List<OwnedFd> fds) {
    /**
     * Checks the arguments and copies the map and lists (not the fds).
     *
     * @throws NullPointerException if an argument, a list element, or a key or value of {@code settings} is null
     */
    public DeviceRecipe {
        Objects.requireNonNull(factory, "factory");
        Objects.requireNonNull(kind, "kind");
        settings = Map.copyOf(settings);
        readOnlyPaths = List.copyOf(readOnlyPaths);
        readWritePaths = List.copyOf(readWritePaths);
        fds = List.copyOf(fds);
    }

    /**
     * {@return a recipe for a device of {@code kind} that {@code factory} makes, with nothing else yet}
     *
     * @param factory the factory class; it needs a public no-argument constructor, which the device process calls
     * @param kind the device's kind, such as {@code virtio-blk}
     */
    public static DeviceRecipe of(Class<? extends JailedDeviceFactory> factory, String kind) {
        return new DeviceRecipe(factory.getName(), kind, Map.of(), List.of(), List.of(), List.of());
    }

    /**
     * {@return this recipe with the setting {@code key} = {@code value}} The recipe itself is not changed.
     *
     * @param key the setting's name; replaces a setting of that name
     * @param value the setting, as text (any characters: it is escaped for the device process)
     */
    public DeviceRecipe with(String key, String value) {
        Map<String, String> more = new LinkedHashMap<>(settings);
        more.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return new DeviceRecipe(factory, kind, more, readOnlyPaths, readWritePaths, fds);
    }

    /**
     * {@return this recipe with {@code path} shown read-only in the jail}
     *
     * @param path a host file or directory; made absolute and normalised, shown at that path
     */
    public DeviceRecipe withReadOnly(Path path) {
        List<Path> more = new ArrayList<>(readOnlyPaths);
        more.add(path.toAbsolutePath().normalize());
        return new DeviceRecipe(factory, kind, settings, more, readWritePaths, fds);
    }

    /**
     * {@return this recipe with {@code path} shown read-write in the jail}
     *
     * @param path a host file or directory; made absolute and normalised, shown at that path
     */
    public DeviceRecipe withReadWrite(Path path) {
        List<Path> more = new ArrayList<>(readWritePaths);
        more.add(path.toAbsolutePath().normalize());
        return new DeviceRecipe(factory, kind, settings, readOnlyPaths, more, fds);
    }

    /**
     * {@return this recipe with {@code fd} passed to the device process (the recipe owns it from now on)}
     *
     * @param fd the fd; it comes after the recipe's other fds, which is how the factory finds it
     */
    public DeviceRecipe withFd(OwnedFd fd) {
        List<OwnedFd> more = new ArrayList<>(fds);
        more.add(Objects.requireNonNull(fd, "fd"));
        return new DeviceRecipe(factory, kind, settings, readOnlyPaths, readWritePaths, more);
    }

    /**
     * {@return this recipe with a duplicate of {@code fd}, which stays the caller's, passed to the device process}
     *
     * @param fd an open fd of the VMM's (a tap, a listening socket)
     * @param what names the fd in the failure's message
     * @throws IllegalStateException if {@code fd} cannot be duplicated
     */
    public DeviceRecipe withDuplicateOf(int fd, String what) {
        Objects.requireNonNull(what, "what");
        int duplicate = Libc.fcntl(fd, LinuxHeaders.F_DUPFD_CLOEXEC(), 0);
        if (duplicate < 0) {
            throw new IllegalStateException(
                    "cannot duplicate " + what + " for its device process: " + Errno.describe(-duplicate));
        }
        return withFd(new OwnedFd(duplicate, what));
    }

    /**
     * {@return the setting {@code key}, if there is one}
     *
     * @param key the setting's name
     */
    public Optional<String> setting(String key) {
        return Optional.ofNullable(settings.get(key));
    }

    /**
     * {@return the setting {@code key}}
     *
     * @param key the setting's name
     * @throws IllegalArgumentException if the recipe lacks it
     */
    public String required(String key) {
        return setting(key)
                .orElseThrow(() -> new IllegalArgumentException("the " + kind + " recipe has no setting " + key));
    }

    /** {@return the recipe's text lines (its fds travel beside them)} */
    List<String> encode() {
        List<String> lines = new ArrayList<>();
        lines.add("factory " + escape(factory));
        lines.add("kind " + escape(kind));
        settings.forEach((key, value) -> lines.add("setting " + escape(key) + " " + escape(value)));
        readOnlyPaths.forEach(path -> lines.add("ro " + escape(path.toString())));
        readWritePaths.forEach(path -> lines.add("rw " + escape(path.toString())));
        lines.add("fds " + fds.size());
        return lines;
    }

    /** {@return the number of fds the encoded recipe in {@code lines} says come with it} */
    static int fdCount(List<String> lines) {
        for (String line : lines) {
            if (line.startsWith("fds ")) {
                return Integer.parseInt(line.substring(4));
            }
        }
        throw new IllegalArgumentException("the recipe does not say how many fds come with it");
    }

    /** {@return the recipe in {@code lines} (as {@link #encode()} wrote them), with {@code fds}} */
    static DeviceRecipe decode(List<String> lines, List<OwnedFd> fds) {
        String factory = null;
        String kind = null;
        Map<String, String> settings = new LinkedHashMap<>();
        List<Path> readOnly = new ArrayList<>();
        List<Path> readWrite = new ArrayList<>();
        for (String line : lines) {
            String[] words = line.split(" ");
            switch (words[0]) {
                case "factory" -> factory = unescape(words[1]);
                case "kind" -> kind = unescape(words[1]);
                case "setting" -> settings.put(unescape(words[1]), unescape(words[2]));
                case "ro" -> readOnly.add(Path.of(unescape(words[1])));
                case "rw" -> readWrite.add(Path.of(unescape(words[1])));
                default -> {
                    // the lines of the setup message that are not the recipe's
                }
            }
        }
        if (factory == null || kind == null) {
            throw new IllegalArgumentException("the recipe names no factory or kind: " + lines);
        }
        return new DeviceRecipe(factory, kind, settings, readOnly, readWrite, fds);
    }

    private static String escape(String text) {
        return text.isEmpty() ? "%" : URLEncoder.encode(text, StandardCharsets.UTF_8);
    }

    private static String unescape(String text) {
        return text.equals("%") ? "" : URLDecoder.decode(text, StandardCharsets.UTF_8);
    }
}
