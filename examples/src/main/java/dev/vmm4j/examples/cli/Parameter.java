// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.cli;

import java.util.function.Consumer;

/**
 * A positional parameter of a command, such as {@code run}'s {@code [KERNEL]} or {@code stop}'s {@code SOCKET...}.
 * Arguments that are not options fill a command's parameters in order; only the last may be {@link #repeated}.
 *
 * @param label its name in help: {@code KERNEL}
 * @param description its line in help
 * @param required whether the command line must give it
 * @param repeated whether it takes every argument left (one at least, if required)
 * @param action what the command does with each argument it gets; refuses a bad one with an
 *     {@link IllegalArgumentException} saying why
 */
public record Parameter(String label, String description, boolean required, boolean repeated, Consumer<String> action) {
    /** {@return a parameter the command line must give} */
    public static Parameter required(String label, String description, Consumer<String> set) {
        return new Parameter(label, description, true, false, set);
    }

    /** {@return a parameter the command line may leave out} */
    public static Parameter optional(String label, String description, Consumer<String> set) {
        return new Parameter(label, description, false, false, set);
    }

    /** {@return a last parameter that takes one or more arguments, each passed to {@code add} in order} */
    public static Parameter oneOrMore(String label, String description, Consumer<String> add) {
        return new Parameter(label, description, true, true, add);
    }

    /** {@return how usage lines show it: {@code PATH}, {@code [SIZE]} or {@code SOCKET...}} */
    String synopsis() {
        String shown = repeated ? label + "..." : label;
        return required ? shown : "[" + shown + "]";
    }
}
