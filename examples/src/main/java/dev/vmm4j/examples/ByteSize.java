// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples;

import java.util.Locale;

/** Sizes on simple-vmm's command line: bytes, or a number with a K, M or G suffix (powers of 1024). */
final class ByteSize {
    private ByteSize() {}

    /**
     * {@return {@code text} in bytes}
     *
     * @throws IllegalArgumentException saying what a size looks like
     */
    static long parse(String text) {
        String trimmed = text.strip().toUpperCase(Locale.ROOT);
        int shift = 0;
        if (!trimmed.isEmpty()) {
            switch (trimmed.charAt(trimmed.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                default -> shift = 0;
            }
        }
        String digits = shift == 0 ? trimmed : trimmed.substring(0, trimmed.length() - 1);
        try {
            long value = Long.parseLong(digits);
            if (value < 0 || value > (Long.MAX_VALUE >> shift)) {
                throw new NumberFormatException();
            }
            return value << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "\"" + text + "\" is not a size: give bytes, or a number with K, M or G (1024-based)");
        }
    }
}
