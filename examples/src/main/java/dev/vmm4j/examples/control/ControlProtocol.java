// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.control;

import java.util.Locale;

/**
 * simple-vmm's control protocol, modelled on crosvm's VmRequest/VmResponse: over a Unix stream socket, a client sends
 * requests and gets one response per request, in order. Each message is one line of printable ASCII ended by
 * {@code \n}, at most {@link #MAX_LINE} bytes with the newline.
 *
 * <pre>
 * request                 response
 * exit                    ok
 * balloon BYTES           ok                     (BYTES: decimal; the balloon's new target)
 * status                  ok state=running memory=268435456 vcpus=1 balloon_target=0 balloon_actual=0
 * (anything else)         error WHAT WENT WRONG
 * </pre>
 *
 * The {@code balloon_*} fields are absent when the VM has no balloon. A line that is too long or not printable ASCII
 * gets an error response and the connection is closed; any other error leaves it open. A client may keep its
 * connection for several requests or close it at any time.
 */
public final class ControlProtocol {
    /** The longest message, newline included. */
    public static final int MAX_LINE = 256;

    /** A parsed request. */
    public sealed interface Request {}

    /** Ends the VM, as a host stop. */
    public record Exit() implements Request {}

    /** Sets the balloon's target to {@code bytes}. */
    public record BalloonAdjust(long bytes) implements Request {}

    /** Asks for the VM's state. */
    public record Status() implements Request {}

    private ControlProtocol() {}

    /**
     * Parses one request line (without its newline).
     *
     * @throws IllegalArgumentException with the response text, if it is not a request
     */
    public static Request parse(String line) {
        String[] words = line.strip().split(" +");
        switch (words[0]) {
            case "exit" -> {
                expectWords(words, 1, "exit");
                return new Exit();
            }
            case "status" -> {
                expectWords(words, 1, "status");
                return new Status();
            }
            case "balloon" -> {
                expectWords(words, 2, "balloon BYTES");
                try {
                    long bytes = Long.parseLong(words[1]);
                    if (bytes < 0) {
                        throw new NumberFormatException();
                    }
                    return new BalloonAdjust(bytes);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(
                            "balloon needs a size in bytes (a decimal number >= 0), not \"" + words[1] + "\"");
                }
            }
            default ->
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT, "unknown request \"%s\": expected exit, balloon BYTES or status", words[0]));
        }
    }

    private static void expectWords(String[] words, int count, String form) {
        if (words.length != count) {
            throw new IllegalArgumentException("expected \"" + form + "\", got " + words.length + " words");
        }
    }

    /** {@return the request as its line, without the newline} */
    public static String format(Request request) {
        return switch (request) {
            case Exit() -> "exit";
            case Status() -> "status";
            case BalloonAdjust(long bytes) -> "balloon " + bytes;
        };
    }

    /** {@return whether {@code c} may appear in a message} */
    static boolean isPrintable(int c) {
        return c >= 0x20 && c < 0x7f;
    }
}
