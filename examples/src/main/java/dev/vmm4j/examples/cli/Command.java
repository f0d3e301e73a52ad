// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.cli;

import java.io.PrintStream;
import java.util.List;

/**
 * A command of a program with several ({@code simple-vmm run}, {@code simple-vmm stop}, ...): what its command line
 * may hold, and what it does once {@link CommandLineParser} has filled it in. A command is used once: its options
 * and parameters set its fields, then {@link #call} runs.
 */
public interface Command {
    /** {@return the name that selects this command: {@code run}} */
    String name();

    /** {@return what it does, for help: the first paragraph is also its line in the program's list of commands} */
    List<String> description();

    /** {@return its options, in the order help lists them} */
    List<Option> options();

    /** {@return its positional parameters, in order; only the last may be repeated} */
    List<Parameter> parameters();

    /**
     * Runs the command, the command line parsed; a bad combination found now is a {@link UsageException}.
     *
     * @return the process's exit status
     * @throws Exception for a failure, which the program reports in one line and with status 1
     */
    int call(PrintStream out, PrintStream err) throws Exception;
}
