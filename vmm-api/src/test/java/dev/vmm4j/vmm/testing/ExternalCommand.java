// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Runs a tool the tests check vmm4j against (qemu-img, dtc, ...) and collects what it printed. */
public final class ExternalCommand {
    /** What a command printed and returned. */
    public record Result(int status, String out, String err) {
        /** {@return this result} @throws AssertionError with the output, if the status is not {@code expected} */
        public Result expect(int expected) {
            if (status != expected) {
                throw new AssertionError(
                        "exit status " + status + ", expected " + expected + "\nstdout:\n" + out + "\nstderr:\n" + err);
            }
            return this;
        }
    }

    private ExternalCommand() {}

    /**
     * Runs {@code command} to its end. {@return its status and output}
     *
     * @throws IOException if it cannot be started or does not end within {@code timeout}
     */
    public static Result run(Duration timeout, List<String> command) throws IOException {
        Process process = new ProcessBuilder(command).start();
        // stderr on its own thread, so that neither pipe fills while the other is read
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> {
            try {
                return process.getErrorStream().readAllBytes();
            } catch (IOException e) {
                return new byte[0];
            }
        });
        try {
            byte[] out = process.getInputStream().readAllBytes();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish within " + timeout);
            }
            return new Result(
                    process.exitValue(),
                    new String(out, StandardCharsets.UTF_8),
                    new String(err.get(), StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + command, e);
        } catch (ExecutionException e) {
            throw new IOException("reading the output of " + command, e);
        }
    }
}
