// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.boot;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Objects;

/**
 * A Linux kernel command line under construction, bounded by the boot protocol's capacity (which counts the
 * terminating NUL). It refuses, with the reason, what the kernel would mis-parse: NULs, control characters and
 * non-ASCII, keys with spaces, {@code =} or quotes, values with quotes, unbalanced quotes; a value with spaces is
 * quoted.
 *
 * <pre>{@code
 * KernelCmdline cmdline = new KernelCmdline(2048)
 *         .insertStr("console=ttyS0 panic=1")
 *         .insert("virtio_mmio.device", "4K@0xd0000000:5")
 *         .insertFlag("noxsave");
 * byte[] bytes = cmdline.toCString();            // with its NUL, for guest memory
 * }</pre>
 *
 * <p><b>Thread safety:</b> not thread-safe.
 */
public final class KernelCmdline {
    private final int capacity;
    private final StringBuilder line = new StringBuilder();

    /**
     * An empty command line of at most {@code capacity} bytes, the terminating NUL included.
     *
     * @param capacity in bytes, the NUL included, at least 1; on x86 at most the bzImage's {@code cmdline_size} + 1
     * @throws IllegalArgumentException if {@code capacity} is less than 1
     */
    public KernelCmdline(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("command line capacity must hold at least the NUL, got " + capacity);
        }
        this.capacity = capacity;
    }

    /**
     * Appends {@code key=value}, quoting the value if it has spaces. Nothing is appended if this throws.
     *
     * @param key not empty, printable ASCII without spaces, {@code =} or quotes
     * @param value printable ASCII without quotes, possibly empty ({@code key=})
     * @return this
     * @throws IllegalArgumentException if {@code key} or {@code value} breaks those rules, or the line would no longer
     *     fit the capacity
     */
    public KernelCmdline insert(String key, String value) {
        checkKey(key);
        Objects.requireNonNull(value, "value");
        checkCharacters(value, "value of " + key);
        if (value.indexOf('"') >= 0) {
            throw new IllegalArgumentException(
                    "value of " + key + " contains a quote, which would break parsing: " + value);
        }
        return append(key + "=" + (value.indexOf(' ') >= 0 ? '"' + value + '"' : value));
    }

    /**
     * Appends a parameter without a value, such as {@code noxsave}. Nothing is appended if this throws.
     *
     * @param key not empty, printable ASCII without spaces, {@code =} or quotes
     * @return this
     * @throws IllegalArgumentException if {@code key} breaks those rules, or the line would no longer fit the
     *     capacity
     */
    public KernelCmdline insertFlag(String key) {
        checkKey(key);
        return append(key);
    }

    /**
     * Appends {@code parameters} as written, such as {@code "console=ttyS0 panic=1"}, after checking it. Nothing is
     * appended if this throws.
     *
     * @param parameters printable ASCII with balanced quotes; leading and trailing spaces are dropped, and a blank
     *     string appends nothing
     * @return this
     * @throws IllegalArgumentException if {@code parameters} has a character that is not printable ASCII or an odd
     *     number of quotes, or the line would no longer fit the capacity
     */
    public KernelCmdline insertStr(String parameters) {
        Objects.requireNonNull(parameters, "parameters");
        checkCharacters(parameters, "parameters");
        long quotes = parameters.chars().filter(c -> c == '"').count();
        if (quotes % 2 != 0) {
            throw new IllegalArgumentException(
                    "parameters have an unbalanced quote, which would swallow what follows: " + parameters);
        }
        String trimmed = parameters.strip();
        return trimmed.isEmpty() ? this : append(trimmed);
    }

    private KernelCmdline append(String parameter) {
        int separator = line.isEmpty() ? 0 : 1;
        int needed = line.length() + separator + parameter.length() + 1; // + NUL
        if (needed > capacity) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "command line would be %d bytes with its NUL, more than the %d it may have: cannot add \"%s\" to \"%s\"",
                    needed,
                    capacity,
                    parameter,
                    line));
        }
        if (separator == 1) {
            line.append(' ');
        }
        line.append(parameter);
        return this;
    }

    private static void checkKey(String key) {
        Objects.requireNonNull(key, "key");
        if (key.isEmpty()) {
            throw new IllegalArgumentException("a command-line key must not be empty");
        }
        checkCharacters(key, "key");
        for (char c : new char[] {' ', '=', '"'}) {
            if (key.indexOf(c) >= 0) {
                throw new IllegalArgumentException(
                        "command-line key \"" + key + "\" contains '" + c + "', which would break parsing");
            }
        }
    }

    private static void checkCharacters(String text, String what) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == 0) {
                throw new IllegalArgumentException(
                        what + " contains a NUL at index " + i + ", which would end the command line there");
            }
            if (c < 0x20 || c > 0x7e) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "%s contains character U+%04X at index %d; the command line takes printable ASCII only",
                        what,
                        (int) c,
                        i));
            }
        }
    }

    /** {@return the capacity in bytes, the NUL included} */
    public int capacity() {
        return capacity;
    }

    /** {@return the length in bytes, without the NUL} */
    public int length() {
        return line.length();
    }

    /** {@return the command line as ASCII bytes followed by a NUL} */
    public byte[] toCString() {
        byte[] text = line.toString().getBytes(StandardCharsets.US_ASCII);
        byte[] withNul = new byte[text.length + 1];
        System.arraycopy(text, 0, withNul, 0, text.length);
        return withNul;
    }

    @Override
    public String toString() {
        return line.toString();
    }
}
