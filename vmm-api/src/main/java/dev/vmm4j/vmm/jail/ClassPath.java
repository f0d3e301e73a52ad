// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * This JVM's class and module path as a device process's class path: every entry of {@code java.class.path} and
 * {@code jdk.module.path}, and the jars a jar's manifest {@code Class-Path} names (as {@code java -jar} and surefire's
 * booter jar use), so that the jail binds each of them.
 */
final class ClassPath {
    private ClassPath() {}

    /** {@return the entries, absolute and existing, in order, without repeats} */
    static List<Path> ofThisJvm() {
        Set<Path> entries = new LinkedHashSet<>();
        for (String property : new String[] {"jdk.module.path", "java.class.path"}) {
            String value = System.getProperty(property);
            if (value != null) {
                for (String entry : value.split(File.pathSeparator)) {
                    if (!entry.isEmpty()) {
                        add(Path.of(entry).toAbsolutePath().normalize(), entries, 0);
                    }
                }
            }
        }
        return List.copyOf(entries);
    }

    private static void add(Path entry, Set<Path> entries, int depth) {
        if (!Files.exists(entry) || !entries.add(entry) || depth > 4) {
            return;
        }
        if (Files.isRegularFile(entry) && entry.toString().endsWith(".jar")) {
            try (JarFile jar = new JarFile(entry.toFile())) {
                Manifest manifest = jar.getManifest();
                String classPath =
                        manifest == null ? null : manifest.getMainAttributes().getValue("Class-Path");
                if (classPath != null) {
                    for (String reference : classPath.trim().split("\\s+")) {
                        resolve(entry, reference).ifPresent(path -> add(path, entries, depth + 1));
                    }
                }
            } catch (IOException | RuntimeException e) {
                // Not a readable jar: the device JVM will say so if it needs a class from it.
            }
        }
    }

    /**
     * A manifest's Class-Path holds URLs relative to the jar, or absolute {@code file:} URLs. {@return the path, or
     * empty for a reference that is no path} One bad reference does not cost the others.
     */
    private static Optional<Path> resolve(Path jar, String reference) {
        if (reference.isEmpty()) {
            return Optional.empty();
        }
        try {
            URI uri = jar.getParent().toUri().resolve(reference);
            return "file".equals(uri.getScheme()) ? Optional.of(Path.of(uri).normalize()) : Optional.empty();
        } catch (IllegalArgumentException e) {
            // Not a URI (a "[" in a name, say), which the JDK's class loader still takes as a relative path.
            try {
                return Optional.of(jar.getParent().resolve(reference).normalize());
            } catch (RuntimeException invalid) {
                return Optional.empty();
            }
        }
    }
}
