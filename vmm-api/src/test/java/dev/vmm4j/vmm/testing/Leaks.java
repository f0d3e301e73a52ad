// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** What a test looks at to show that a VM left nothing behind: this process's open descriptors and live threads. */
public final class Leaks {
    private Leaks() {}

    /** {@return how many file descriptors this process has open} */
    public static long openDescriptors() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@return the names of the live threads whose name is one of {@code names}} */
    public static List<String> liveThreadsNamed(String... names) {
        List<String> wanted = List.of(names);
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .map(Thread::getName)
                .filter(wanted::contains)
                .sorted()
                .toList();
    }
}
