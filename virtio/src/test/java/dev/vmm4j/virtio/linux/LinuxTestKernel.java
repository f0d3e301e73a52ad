// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The microvm test kernel {@code scripts/build-test-kernel} builds from Debian's linux-source-6.1 and
 * {@code scripts/test-kernel/microvm.config} (never committed), and whether the one in the cache was built from the
 * fragment and script in this tree.
 */
final class LinuxTestKernel {
    private static final Path SCRIPTS = Path.of("..", "scripts");

    private LinuxTestKernel() {}

    /** {@return {@code -Dvmm4j.linuxKernel}, or else ~/.cache/vmm4j/microvm-kernel/bzImage} */
    static Path path() {
        String configured = System.getProperty("vmm4j.linuxKernel", "");
        return configured.isBlank()
                ? Path.of(System.getProperty("user.home"), ".cache", "vmm4j", "microvm-kernel", "bzImage")
                : Path.of(configured);
    }

    /** {@return why the kernel at {@link #path()} cannot be used, if it cannot} */
    static Optional<String> problem() {
        Path kernel = path();
        if (!Files.isRegularFile(kernel)) {
            return Optional.of(
                    "no Linux test kernel at " + kernel + ": run scripts/build-test-kernel (about 8 minutes)");
        }
        Path inputs = kernel.resolveSibling("inputs.txt");
        if (!Files.isRegularFile(inputs) || !Files.isRegularFile(SCRIPTS.resolve("build-test-kernel"))) {
            return Optional.empty(); // a kernel given by path, or a tree without the script: take it as it is
        }
        try {
            List<String> recorded = Files.readAllLines(inputs);
            String fragment = "fragment " + sha256(SCRIPTS.resolve("test-kernel/microvm.config"));
            String script = "script " + sha256(SCRIPTS.resolve("build-test-kernel"));
            if (!recorded.contains(fragment) || !recorded.contains(script)) {
                return Optional.of("the Linux test kernel at " + kernel + " was built from another microvm.config or"
                        + " build script than this tree's: run scripts/build-test-kernel");
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
