// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.cli;

import java.util.List;
import java.util.function.Consumer;

/**
 * One option of a command: its names, whether it takes a value, its line in {@code --help}, its default, and what it
 * does with what it is given. A command builds its options in code, each one's action setting a field of the command,
 * so the definition sits next to the field and nothing is found by reflection.
 *
 * <p>Four kinds:
 *
 * <ul>
 *   <li>{@link #flag}: {@code --serial-input}, on when given;
 *   <li>{@link #negatable}: {@code --rng} or {@code --no-rng}, one of them at most, else the default;
 *   <li>{@link #value}: {@code --mem 512} or {@code --mem=512} (or {@code -m 512}, {@code -m512}), at most once;
 *   <li>{@link #repeatable}: {@code --disk a.img --disk b.img}, each value passed on in command-line order.
 * </ul>
 *
 * An action refuses a bad value with an {@link IllegalArgumentException} whose message says why; the parser puts the
 * option's name in front of it.
 */
public final class Option {
    /** How an option is written, and how often. */
    enum Kind {
        FLAG,
        NEGATABLE,
        VALUE,
        REPEATABLE
    }

    private final Kind kind;
    private final List<String> names;
    private final String label;
    private final String description;
    private final String defaultValue;
    private final Consumer<String> action;

    private Option(
            Kind kind,
            List<String> names,
            String label,
            String description,
            String defaultValue,
            Consumer<String> action) {
        this.kind = kind;
        this.names = names;
        this.label = label;
        this.description = description;
        this.defaultValue = defaultValue;
        this.action = action;
    }

    /**
     * An option without a value, off unless given: {@code names} is its spellings separated by commas, as help shows
     * them ({@code "--vhost-net, --vhost_net"}).
     */
    public static Option flag(String names, String description, Runnable set) {
        return new Option(Kind.FLAG, spellings(names), null, description, null, value -> set.run());
    }

    /** A setting that is {@code byDefault} unless {@code --NAME} or {@code --no-NAME} says otherwise. */
    public static Option negatable(String name, boolean byDefault, String description, Consumer<Boolean> set) {
        if (!name.startsWith("--") || name.contains(",")) {
            throw new IllegalArgumentException(name + ": a negatable option has one long name, as --rng");
        }
        return new Option(
                Kind.NEGATABLE,
                spellings(name),
                null,
                description,
                byDefault ? "on" : "off",
                value -> set.accept(value.equals("on")));
    }

    /** An option with a value (shown in help as {@code label}), given at most once. */
    public static Option value(String names, String label, String description, Consumer<String> set) {
        return new Option(Kind.VALUE, spellings(names), label, description, null, set);
    }

    /** An option with a value that may be given any number of times; {@code add} gets each in command-line order. */
    public static Option repeatable(String names, String label, String description, Consumer<String> add) {
        return new Option(Kind.REPEATABLE, spellings(names), label, description, null, add);
    }

    /** {@return this option with {@code value} as its default: applied before the command line, shown in help} */
    public Option withDefault(String value) {
        if (kind != Kind.VALUE) {
            throw new IllegalStateException(names + ": only an option with a single value has a default value");
        }
        return new Option(kind, names, label, description, value, action);
    }

    /** {@return {@code names} split at its commas, each checked to be {@code -x} or {@code --word}} */
    private static List<String> spellings(String names) {
        List<String> spellings = List.of(names.split(", ", -1));
        for (String name : spellings) {
            boolean valid = name.length() >= 2 && name.charAt(0) == '-' && name.charAt(1) != '-'
                    ? name.length() == 2
                    : name.length() > 2 && name.startsWith("--") && name.charAt(2) != '-';
            for (int i = 1; valid && i < name.length(); i++) {
                char c = name.charAt(i);
                valid = Character.isLetterOrDigit(c) || c == '-' || c == '_';
            }
            if (!valid) {
                throw new IllegalArgumentException("'" + name + "' is not an option name, as -m or --mem");
            }
        }
        return spellings;
    }

    Kind kind() {
        return kind;
    }

    /** {@return the spellings that select this option; a negatable one's {@code --no-} forms are not among them} */
    List<String> names() {
        return names;
    }

    boolean takesValue() {
        return kind == Kind.VALUE || kind == Kind.REPEATABLE;
    }

    /** {@return what help shows for the value, as {@code MiB}; null for an option without one} */
    String label() {
        return label;
    }

    String description() {
        return description;
    }

    /** {@return the default as help shows it ({@code on} or {@code off} for a negatable option); null for none} */
    String defaultValue() {
        return defaultValue;
    }

    /** {@return the name errors call this option by: its first long name, {@code --[no-]rng} for a negatable one} */
    String displayName() {
        String name = names.stream()
                .filter(spelling -> spelling.startsWith("--"))
                .findFirst()
                .orElse(names.getFirst());
        return kind == Kind.NEGATABLE ? "--[no-]" + name.substring(2) : name;
    }

    /** Applies {@code value}: the option's value, or {@code on}/{@code off} for a negatable, anything for a flag. */
    void apply(String value) {
        action.accept(value);
    }
}
