// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Puts the controlling terminal in raw mode (no line editing, no echo, no signals from keys), so that every key goes to
 * the guest's console, and restores the settings it found; through {@code stty}, as the JDK has no terminal API.
 */
final class RawTerminal implements AutoCloseable {
    private final String saved;
    private boolean restored;

    private RawTerminal(String saved) {
        this.saved = saved;
    }

    /** {@return the terminal in raw mode, or null when standard input is not a terminal (nothing to change)} */
    static RawTerminal enter() throws IOException {
        if (System.console() == null || !System.console().isTerminal()) {
            return null;
        }
        String saved = stty("-g").strip();
        stty("raw", "-echo");
        return new RawTerminal(saved);
    }

    private static String stty(String... arguments) throws IOException {
        String[] command = new String[arguments.length + 1];
        command[0] = "stty";
        System.arraycopy(arguments, 0, command, 1, arguments.length);
        Process process = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.INHERIT)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IOException(
                        "stty " + String.join(" ", arguments) + " failed: cannot change the terminal mode");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while changing the terminal mode", e);
        }
        return output;
    }

    /** Restores the settings the terminal had. Idempotent. */
    @Override
    public synchronized void close() throws IOException {
        if (!restored) {
            restored = true;
            stty(saved);
        }
    }
}
