// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The text of {@code --help}: a usage line, the description, then every parameter and option with its description,
 * whether it may be repeated and its default, wrapped to 80 columns in two columns.
 */
public final class Help {
    /** The width help is wrapped to: a terminal's, at its narrowest usual. */
    static final int WIDTH = 80;
    /** The widest first column; a longer entry puts its description on the next line. */
    private static final int MAX_NAME_WIDTH = 26;

    private static final String HELP_DESCRIPTION = "Show this help and exit.";
    private static final String VERSION_DESCRIPTION = "Print the version and exit.";

    private Help() {}

    /** {@return the help of {@code command}, a command of {@code program}} */
    public static String of(String program, Command command) {
        StringBuilder text =
                new StringBuilder("Usage: ").append(program).append(' ').append(command.name());
        if (!command.options().isEmpty()) {
            text.append(" [OPTIONS]");
        }
        for (Parameter parameter : command.parameters()) {
            text.append(' ').append(parameter.synopsis());
        }
        text.append('\n');
        paragraphs(text, command.description());
        List<Row> parameters = new ArrayList<>();
        for (Parameter parameter : command.parameters()) {
            parameters.add(new Row("    " + parameter.synopsis(), parameter.description()));
        }
        List<Row> options = new ArrayList<>();
        for (Option option : command.options()) {
            options.add(new Row(names(option), description(option)));
        }
        options.add(new Row("-h, --help", HELP_DESCRIPTION));
        options.add(new Row("-V, --version", VERSION_DESCRIPTION));
        // One column for both tables, so that the descriptions line up.
        int width = Math.max(nameWidth(parameters), nameWidth(options));
        if (!parameters.isEmpty()) {
            text.append("\nParameters:\n");
            table(text, parameters, width);
        }
        text.append("\nOptions:\n");
        table(text, options, width);
        return text.toString();
    }

    /** {@return the help of {@code program} itself: what it does, its commands, and how to get theirs} */
    public static String ofProgram(String program, List<String> description, List<Command> commands) {
        StringBuilder text = new StringBuilder("Usage: ")
                .append(program)
                .append(" COMMAND [OPTIONS] [ARGUMENTS]\n       ")
                .append(program)
                .append(" --help | --version\n");
        paragraphs(text, description);
        List<Row> commandRows = new ArrayList<>();
        for (Command command : commands) {
            commandRows.add(new Row(command.name(), command.description().getFirst()));
        }
        List<Row> options =
                List.of(new Row("-h, --help", HELP_DESCRIPTION), new Row("-V, --version", VERSION_DESCRIPTION));
        int width = Math.max(nameWidth(commandRows), nameWidth(options));
        text.append("\nCommands:\n");
        table(text, commandRows, width);
        text.append("\nOptions:\n");
        table(text, options, width);
        text.append("\n'").append(program).append(" COMMAND --help' lists a command's options.\n");
        return text.toString();
    }

    /** One entry: what is typed, and what it does. */
    private record Row(String name, String description) {}

    /** {@return how {@code option} is typed: {@code -m, --mem MiB}, with room for a short name if it has none} */
    private static String names(Option option) {
        List<String> shorts = new ArrayList<>();
        List<String> longs = new ArrayList<>();
        for (String name : option.names()) {
            (name.startsWith("--") ? longs : shorts).add(name);
        }
        if (option.kind() == Option.Kind.NEGATABLE) {
            longs.replaceAll(name -> "--[no-]" + name.substring(2));
        }
        String text = shorts.isEmpty() ? "    " : String.join(", ", shorts) + (longs.isEmpty() ? "" : ", ");
        text += String.join(", ", longs);
        return option.takesValue() ? text + " " + option.label() : text;
    }

    /** {@return the option's description, then whether it may be repeated and its default} */
    private static String description(Option option) {
        String text = option.description();
        if (option.kind() == Option.Kind.REPEATABLE) {
            text += " May be repeated.";
        }
        if (option.defaultValue() != null) {
            text += " Default: " + option.defaultValue() + ".";
        }
        return text;
    }

    private static void paragraphs(StringBuilder text, List<String> paragraphs) {
        for (String paragraph : paragraphs) {
            wrap(text, paragraph, 0, WIDTH);
        }
    }

    /** {@return the width of the first column: its widest entry's, leaving out those too wide for it} */
    private static int nameWidth(List<Row> rows) {
        int width = 0;
        for (Row row : rows) {
            if (row.name().length() <= MAX_NAME_WIDTH) {
                width = Math.max(width, row.name().length());
            }
        }
        return width;
    }

    private static void table(StringBuilder text, List<Row> rows, int nameWidth) {
        int column = 2 + nameWidth + 2;
        for (Row row : rows) {
            text.append("  ").append(row.name());
            if (row.name().length() > nameWidth) {
                text.append('\n').repeat(' ', column);
            } else {
                text.repeat(' ', column - 2 - row.name().length());
            }
            wrap(text, row.description(), column, WIDTH - column);
        }
    }

    /**
     * Appends {@code words} in lines of {@code width} at most (a longer word has a line of its own), each but the
     * first indented by {@code indent}, with a newline after the last.
     */
    private static void wrap(StringBuilder text, String words, int indent, int width) {
        int used = 0;
        for (String word : words.split(" +")) {
            if (used > 0 && used + 1 + word.length() > width) {
                text.append('\n').repeat(' ', indent);
                used = 0;
            }
            if (used > 0) {
                text.append(' ');
                used++;
            }
            text.append(word);
            used += word.length();
        }
        text.append('\n');
    }
}
