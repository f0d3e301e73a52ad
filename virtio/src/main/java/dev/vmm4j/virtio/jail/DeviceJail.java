// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.jail;

import dev.vmm4j.vmm.jail.Landlock;
import dev.vmm4j.vmm.jail.SeccompFilter;
import dev.vmm4j.vmm.jail.SyscallPolicy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * Closes a device process's jail from the inside, once its device is made and before it touches guest data:
 * Landlock rules (the recipe's paths and nothing else writable), then the seccomp filter of the device's policy on
 * every thread.
 *
 * <p>Once the filter is in, no file can be opened, so a class the device needs later could not be loaded from a
 * class path directory (or a jar not yet opened): every vmm4j class on the class path is loaded first (not
 * initialised), and the JDK's logging is configured, which reads its configuration file and the time zones.
 */
final class DeviceJail {
    private static final System.Logger LOG = System.getLogger(DeviceJail.class.getName());

    private DeviceJail() {}

    /**
     * Closes the jail. {@return whether Landlock restricts the device}
     *
     * @throws IllegalStateException if the device needs Landlock and the kernel lacks it
     */
    static boolean close(DeviceRecipe recipe, SyscallPolicy devicePolicy, boolean needsLandlock) {
        int loaded = preloadClasses();
        readFilesLoggingReads();
        LOG.log(System.Logger.Level.DEBUG, () -> "loaded " + loaded + " classes before closing the jail");
        List<Path> readOnly = new ArrayList<>(recipe.readOnlyPaths());
        readOnly.add(Path.of(System.getProperty("java.home")));
        boolean landlocked = Landlock.restrictSelf(readOnly, recipe.readWritePaths());
        if (!landlocked && needsLandlock) {
            throw new IllegalStateException("this kernel has no Landlock, without which a jailed " + recipe.kind()
                    + " device could open any path its jail shows: run it in the VMM's process (no sandbox)");
        }
        SeccompFilter.compile(SyscallPolicy.jvm().with(devicePolicy)).install();
        return landlocked;
    }

    /**
     * Reads now what the JDK reads when a device first logs: the logging configuration, and the time zone database a
     * log line's time stamp needs. Later, no file can be opened.
     */
    private static void readFilesLoggingReads() {
        LOG.isLoggable(System.Logger.Level.INFO); // brings the logging back end up, which reads its configuration
        java.time.ZonedDateTime.now(java.time.ZoneId.systemDefault());
        java.util.TimeZone.getDefault();
    }

    /** {@return how many classes were loaded} Loads every class of vmm4j's packages on the class path. */
    private static int preloadClasses() {
        ClassLoader loader = DeviceJail.class.getClassLoader();
        int loaded = 0;
        for (String entry : System.getProperty("java.class.path", "").split(java.io.File.pathSeparator)) {
            if (entry.isEmpty()) {
                continue;
            }
            for (String name : classNames(Path.of(entry))) {
                try {
                    Class.forName(name, false, loader);
                    loaded++;
                } catch (ClassNotFoundException | LinkageError e) {
                    // a class whose dependencies are not on the class path (a test's): the device does not use it
                }
            }
        }
        return loaded;
    }

    private static List<String> classNames(Path entry) {
        List<String> names = new ArrayList<>();
        try {
            if (Files.isDirectory(entry)) {
                Path root = entry.resolve("dev/vmm4j");
                if (Files.isDirectory(root)) {
                    try (Stream<Path> files = Files.walk(root)) {
                        files.filter(file -> file.toString().endsWith(".class"))
                                .map(file -> className(entry.relativize(file).toString()))
                                .forEach(names::add);
                    }
                }
            } else if (entry.toString().endsWith(".jar") && Files.isRegularFile(entry)) {
                try (JarFile jar = new JarFile(entry.toFile())) {
                    jar.stream()
                            .map(JarEntry::getName)
                            .filter(name -> name.startsWith("dev/vmm4j/") && name.endsWith(".class"))
                            .map(DeviceJail::className)
                            .forEach(names::add);
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // an unreadable entry: nothing of it is preloaded
        }
        return names;
    }

    private static String className(String file) {
        String name = file.substring(0, file.length() - ".class".length()).replace('/', '.');
        return name.endsWith("module-info") || name.endsWith("package-info") ? "java.lang.Object" : name;
    }
}
