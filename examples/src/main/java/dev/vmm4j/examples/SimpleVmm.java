// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples;

import dev.vmm4j.examples.cli.Command;
import dev.vmm4j.examples.cli.CommandLineParser;
import dev.vmm4j.examples.cli.Help;
import dev.vmm4j.examples.cli.UsageException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;

/**
 * simple-vmm: crosvm's {@code run} and control commands rebuilt on vmm4j, and the first thing to run after a clone:
 * {@code ./simple-vmm run} boots the bundled demo guest.
 *
 * <p>Exit status: 0 when the guest powered off or reset (or a {@code stop} ended it), 1 with a one-line reason on
 * stderr when it crashed or could not start (missing kernel, KVM error, locked disk), 2 for a bad command line. Set
 * {@code SIMPLE_VMM_DEBUG=1} to get stack traces as well.
 *
 * <p>The command line is parsed by {@link dev.vmm4j.examples.cli}, written for this program: no reflection, so the
 * JVM's start-up (and its AOT cache) has nothing to discover.
 */
public final class SimpleVmm {
    /** The program's name, in help and in every message it prints. */
    static final String NAME = "simple-vmm";
    /** What {@code --version} prints. */
    static final String VERSION = "simple-vmm (vmm4j) 0.1.0";
    /** The program's description in {@code --help}. */
    private static final List<String> DESCRIPTION = List.of(
            "Runs Linux guests on KVM with vmm4j, and controls running ones.",
            "Exit status: 0 when a command did what it was asked, 1 when it failed (with the reason on one line),"
                    + " 2 for a bad command line.");

    /** What a command line without a known command is told to name. */
    private static final String NAME_A_COMMAND = "name a command: run, stop, balloon, status or create-qcow2";

    private SimpleVmm() {}

    /** {@return a new, unfilled instance of each command, in the order help lists them} */
    static List<Command> commands() {
        return List.of(
                new RunCommand(),
                SocketsCommand.stop(),
                new BalloonCommand(),
                SocketsCommand.status(),
                new CreateQcow2Command());
    }

    /** Runs the command line and exits with its status. */
    public static void main(String[] args) {
        configureLogging(System.getenv("SIMPLE_VMM_DEBUG") != null);
        System.exit(execute(args, System.out, System.err));
    }

    /**
     * Shows vmm4j's log records on stderr as one line each, {@code simple-vmm: warning: ...}: warnings and errors only,
     * or everything with stack traces when {@code debug}. vmm4j's notes about how it adapted to the host (at INFO) stay
     * out of a command's output unless asked for.
     */
    static void configureLogging(boolean debug) {
        Logger root = Logger.getLogger("");
        for (Handler handler : root.getHandlers()) {
            root.removeHandler(handler);
        }
        Handler stderr =
                new StreamHandler(System.err, new Formatter() {
                    @Override
                    public String format(LogRecord record) {
                        StringWriter text = new StringWriter();
                        text.append("simple-vmm: ")
                                .append(record.getLevel().getName().toLowerCase(Locale.ROOT))
                                .append(": ")
                                .append(formatMessage(record))
                                .append(System.lineSeparator());
                        if (debug && record.getThrown() != null) {
                            record.getThrown().printStackTrace(new PrintWriter(text));
                        }
                        return text.toString();
                    }
                }) {
                    @Override
                    public synchronized void publish(LogRecord record) {
                        super.publish(record);
                        flush();
                    }
                };
        Level level = debug ? Level.ALL : Level.WARNING;
        stderr.setLevel(level);
        root.setLevel(level);
        root.addHandler(stderr);
    }

    /** {@return the exit status of running {@code args}, writing to {@code out} and {@code err}} */
    static int execute(String[] args, PrintStream out, PrintStream err) {
        String helpCommand = NAME; // what the hint after a bad command line tells to ask for help
        try {
            if (args.length == 0) {
                throw new UsageException(NAME_A_COMMAND);
            }
            String name = args[0];
            if (CommandLineParser.isHelp(name)) {
                out.print(Help.ofProgram(NAME, DESCRIPTION, commands()));
                return 0;
            }
            if (CommandLineParser.isVersion(name)) {
                out.println(VERSION);
                return 0;
            }
            Command command = commands().stream()
                    .filter(candidate -> candidate.name().equals(name))
                    .findFirst()
                    .orElseThrow(
                            () -> new UsageException((name.startsWith("-") ? "unknown option '" : "unknown command '")
                                    + name + "': " + NAME_A_COMMAND));
            helpCommand = NAME + " " + name;
            return switch (CommandLineParser.parse(command, Arrays.asList(args).subList(1, args.length))) {
                case HELP -> {
                    out.print(Help.of(NAME, command));
                    yield 0;
                }
                case VERSION -> {
                    out.println(VERSION);
                    yield 0;
                }
                case RUN -> command.call(out, err);
            };
        } catch (UsageException e) {
            err.println(NAME + ": " + e.getMessage());
            err.println("Try '" + helpCommand + " --help' for more information.");
            return 2;
        } catch (Exception e) {
            err.println(NAME + ": " + describe(e));
            if (System.getenv("SIMPLE_VMM_DEBUG") != null) {
                e.printStackTrace(err);
            }
            return 1;
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** {@return what went wrong, in one line: the message, not the exception's class, for the errors users cause} */
    static String describe(Throwable exception) {
        Throwable shown = exception instanceof UncheckedIOException unchecked ? unchecked.getCause() : exception;
        // The file-system exceptions' messages are bare paths: say what happened to them.
        switch (shown) {
            case FileAlreadyExistsException e -> {
                return e.getFile() + " already exists" + (e.getReason() == null ? "" : ": " + e.getReason());
            }
            case NoSuchFileException e -> {
                return e.getFile() + ": no such file or directory";
            }
            case AccessDeniedException e -> {
                return e.getFile() + ": permission denied";
            }
            default -> {}
        }
        String message = shown.getMessage();
        if (message == null || message.isBlank()) {
            return shown.getClass().getSimpleName() + " (set SIMPLE_VMM_DEBUG=1 for details)";
        }
        return message.replace('\n', ' ');
    }
}
