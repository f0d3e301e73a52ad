// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.Locale;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * simple-vmm: crosvm's {@code run} and control commands rebuilt on vmm4j, and the first thing to run after a clone:
 * {@code ./simple-vmm run} boots the bundled demo guest.
 *
 * <p>Exit status: 0 when the guest powered off or reset (or a {@code stop} ended it), 1 with a one-line reason on
 * stderr when it crashed or could not start (missing kernel, KVM error, locked disk), 2 for a bad command line. Set
 * {@code SIMPLE_VMM_DEBUG=1} to get stack traces as well.
 */
@Command(
        name = "simple-vmm",
        mixinStandardHelpOptions = true,
        version = "simple-vmm (vmm4j) 0.1.0",
        description = "Runs Linux guests on KVM with vmm4j, and controls running ones.",
        subcommands = {
            RunCommand.class,
            StopCommand.class,
            BalloonCommand.class,
            StatusCommand.class,
            CreateQcow2Command.class
        })
public final class SimpleVmm implements Runnable {
    @Spec
    CommandSpec spec;

    /** Picocli makes it. */
    public SimpleVmm() {}

    @Override
    public void run() {
        throw new ParameterException(
                spec.commandLine(), "name a command: run, stop, balloon, status or create-qcow2 (see --help)");
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
        CommandLine cli = new CommandLine(new SimpleVmm());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setExecutionExceptionHandler((exception, command, parsed) -> {
            err.println("simple-vmm: " + describe(exception));
            if (System.getenv("SIMPLE_VMM_DEBUG") != null) {
                exception.printStackTrace(err);
            }
            return 1;
        });
        return cli.execute(args);
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
