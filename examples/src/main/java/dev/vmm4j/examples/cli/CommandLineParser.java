// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.cli;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fills a {@link Command} from its arguments (those after the command's name). The rules:
 *
 * <ul>
 *   <li>Options and parameters may come in any order; {@code --} ends the options, so that what follows is a
 *       parameter even if it starts with {@code -}.
 *   <li>An option's value is the next argument ({@code --mem 512}, {@code -m 512}) or follows {@code =} in the same
 *       one ({@code --mem=512}); a short option's may also follow at once ({@code -m512}). The next argument is not
 *       taken as the value if it is one of the command's options: {@code --socket --no-rng} is a missing value.
 *   <li>An option that is not repeatable may be given once: a second {@code --mem}, or {@code --rng} with
 *       {@code --no-rng}, is an error rather than a silent override.
 *   <li>Defaults are applied first, then each option's action runs as the option is met, so repeatable options keep
 *       their command-line order, also across options ({@code --disk}, {@code --rwdisk}, ...).
 *   <li>{@code -h}/{@code --help} and {@code -V}/{@code --version} end the parsing where they stand and ask for help
 *       or the version instead of a run, whatever follows them; an error in what comes before them (a bad value, an
 *       option missing its value, which would take them as its value) is reported first.
 * </ul>
 *
 * Every problem is a {@link UsageException} that names the option (or parameter) and says why.
 */
public final class CommandLineParser {
    /** What a command line asks for. */
    public enum Request {
        /** Run the command, now filled in. */
        RUN,
        /** Print the command's help. */
        HELP,
        /** Print the program's version. */
        VERSION
    }

    private final Command command;
    private final List<Option> options;
    private final List<Parameter> parameters;
    private final Map<String, Option> byName = new HashMap<>();
    private final Set<Option> given = new HashSet<>();
    /** The parameter the next argument that is no option fills. */
    private int nextParameter;
    /** Whether the repeated parameter, if {@link #nextParameter} is it, has one argument at least. */
    private boolean repeatedFilled;

    private CommandLineParser(Command command) {
        this.command = command;
        this.options = command.options();
        this.parameters = command.parameters();
        for (Option option : options) {
            for (String name : option.names()) {
                add(name, option);
                if (option.kind() == Option.Kind.NEGATABLE) {
                    add("--no-" + name.substring(2), option);
                }
            }
        }
    }

    private void add(String name, Option option) {
        if (byName.put(name, option) != null || isHelp(name) || isVersion(name)) {
            throw new IllegalStateException(command.name() + ": the option name " + name + " is used twice");
        }
    }

    /**
     * Parses {@code args} into {@code command}: applies the defaults, then each option and parameter in order.
     *
     * @return whether to run the command, or to print its help or the version
     * @throws UsageException if {@code args} is not a command line of {@code command}
     */
    public static Request parse(Command command, List<String> args) {
        return new CommandLineParser(command).parse(args);
    }

    private Request parse(List<String> args) {
        for (Option option : options) {
            if (option.defaultValue() != null) {
                option.apply(option.defaultValue());
            }
        }
        boolean optionsEnded = false;
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (optionsEnded || arg.equals("-") || !arg.startsWith("-")) {
                addParameter(arg);
            } else if (arg.equals("--")) {
                optionsEnded = true;
            } else if (isHelp(arg)) {
                return Request.HELP;
            } else if (isVersion(arg)) {
                return Request.VERSION;
            } else {
                Written written = split(arg);
                if (written == null) {
                    throw new UsageException("unknown option " + optionName(arg));
                }
                Option option = written.option();
                String value = written.value();
                if (option.takesValue() && value == null) {
                    if (i + 1 == args.size() || isOption(args.get(i + 1))) {
                        throw new UsageException(written.name() + " needs a value (" + option.label() + ")");
                    }
                    value = args.get(++i);
                } else if (!option.takesValue() && value != null) {
                    throw new UsageException(written.name() + " takes no value, but was given '" + value + "'");
                }
                if (option.kind() != Option.Kind.REPEATABLE && !given.add(option)) {
                    throw new UsageException(option.displayName() + " may be given only once");
                }
                if (option.kind() == Option.Kind.NEGATABLE) {
                    value = written.name().startsWith("--no-") ? "off" : "on";
                }
                try {
                    option.apply(value);
                } catch (IllegalArgumentException e) {
                    throw new UsageException(written.name() + ": " + e.getMessage());
                }
            }
        }
        for (int i = nextParameter; i < parameters.size(); i++) {
            Parameter parameter = parameters.get(i);
            if (parameter.required() && !(parameter.repeated() && repeatedFilled)) {
                throw new UsageException(
                        "missing " + parameter.label() + (parameter.repeated() ? " (one or more)" : ""));
            }
        }
        return Request.RUN;
    }

    /** An option as written: the name used, the option, and the value given in the same argument (else null). */
    private record Written(String name, Option option, String value) {}

    /** {@return {@code arg} as an option with any value it carries ({@code --mem=512}, {@code -m512}), or null} */
    private Written split(String arg) {
        Option whole = byName.get(arg);
        if (whole != null) {
            return new Written(arg, whole, null);
        }
        int equals = arg.indexOf('=');
        if (arg.startsWith("--") && equals > 0) {
            String name = arg.substring(0, equals);
            Option option = byName.get(name);
            return option == null ? null : new Written(name, option, arg.substring(equals + 1));
        }
        if (!arg.startsWith("--") && arg.length() > 2) {
            // -m512 or -m=512; only for an option that takes a value, so that no cluster of flags is guessed at.
            String name = arg.substring(0, 2);
            Option option = byName.get(name);
            if (option != null && option.takesValue()) {
                String value = arg.substring(2);
                return new Written(name, option, value.startsWith("=") ? value.substring(1) : value);
            }
        }
        return null;
    }

    /** {@return whether {@code arg} is one of the command's options (or help, version, or {@code --})} */
    private boolean isOption(String arg) {
        return arg.equals("--") || isHelp(arg) || isVersion(arg) || (arg.startsWith("-") && split(arg) != null);
    }

    /** {@return the option's name in {@code arg}, quoted, without a value given with {@code =}} */
    private static String optionName(String arg) {
        int equals = arg.indexOf('=');
        return "'" + (arg.startsWith("--") && equals > 0 ? arg.substring(0, equals) : arg) + "'";
    }

    private void addParameter(String arg) {
        if (nextParameter == parameters.size()) {
            throw new UsageException("unexpected argument '" + arg + "'"
                    + (parameters.isEmpty()
                            ? ": " + command.name() + " takes none"
                            : " after " + parameters.getLast().label()));
        }
        Parameter parameter = parameters.get(nextParameter);
        try {
            parameter.action().accept(arg);
        } catch (IllegalArgumentException e) {
            throw new UsageException(parameter.label() + ": " + e.getMessage());
        }
        if (parameter.repeated()) {
            repeatedFilled = true;
        } else {
            nextParameter++;
        }
    }

    /** {@return whether {@code arg} asks for help: {@code -h} or {@code --help}} */
    public static boolean isHelp(String arg) {
        return arg.equals("-h") || arg.equals("--help");
    }

    /** {@return whether {@code arg} asks for the version: {@code -V} or {@code --version}} */
    public static boolean isVersion(String arg) {
        return arg.equals("-V") || arg.equals("--version");
    }
}
