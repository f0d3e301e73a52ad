// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.cli;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Conversions of option values to the types commands hold. Each refuses a bad value with an
 * {@link IllegalArgumentException} that quotes it and says what was expected; the parser adds the option's name.
 */
public final class Values {
    private Values() {}

    /** {@return {@code text} as a decimal {@code int}} */
    public static int toInt(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw notANumber(text, Integer.MIN_VALUE, Integer.MAX_VALUE);
        }
    }

    /** {@return {@code text} as a decimal {@code long}} */
    public static long toLong(String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw notANumber(text, Long.MIN_VALUE, Long.MAX_VALUE);
        }
    }

    private static IllegalArgumentException notANumber(String text, long min, long max) {
        boolean digits = text.matches("[-+]?[0-9]+");
        return new IllegalArgumentException(
                "'" + text + "' is " + (digits ? "out of range (" + min + " to " + max + ")" : "not a whole number"));
    }

    /** {@return {@code text} as a path; an empty one (which would mean the working directory) is refused} */
    public static Path toPath(String text) {
        if (text.isEmpty()) {
            throw new IllegalArgumentException("a path cannot be empty");
        }
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("'" + text + "' is not a path: " + e.getReason());
        }
    }
}
