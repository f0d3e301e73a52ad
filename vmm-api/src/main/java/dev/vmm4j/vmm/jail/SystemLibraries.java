// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The host's system library directories a JVM loads from (the C library and the dynamic loader), which a device
 * process's jail binds read-only, and the top-level links that lead to them on merged-/usr systems ({@code /lib ->
 * usr/lib}), which it recreates.
 */
final class SystemLibraries {
    private static final List<String> CANDIDATES = List.of(
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib64",
            "/lib/x86_64-linux-gnu",
            "/lib/aarch64-linux-gnu",
            "/lib64");

    private SystemLibraries() {}

    /** {@return the real library directories to bind} */
    static List<Path> directories() {
        List<Path> directories = new ArrayList<>();
        for (String candidate : CANDIDATES) {
            Path path = Path.of(candidate);
            if (Files.isDirectory(path) && !isUnderLink(path)) {
                directories.add(path);
            }
        }
        return directories;
    }

    /** {@return link path to link target for the top-level links ({@code /lib}, {@code /lib64}) to recreate} */
    static Map<String, String> links() {
        Map<String, String> links = new LinkedHashMap<>();
        for (String link : List.of("/lib", "/lib64", "/lib32")) {
            Path path = Path.of(link);
            if (Files.isSymbolicLink(path)) {
                try {
                    links.put(link, Files.readSymbolicLink(path).toString());
                } catch (IOException e) {
                    // an unreadable link is left out; the JVM then fails to start and says which library it lacks
                }
            }
        }
        return links;
    }

    /** {@return whether {@code path} is reached through a top-level link, so that binding its target covers it} */
    private static boolean isUnderLink(Path path) {
        return Files.isSymbolicLink(path.getRoot().resolve(path.getName(0)));
    }
}
