// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.cli;

import java.io.Serial;

/**
 * A command line the program cannot run: an unknown option, a missing or bad value, options that do not go together.
 * The message names the option and says why, as {@code --mem is in MiB, from 16 to 1048576, not 8}; the program
 * prints it with a hint to use {@code --help} and exits with status 2, never with a stack trace.
 */
public final class UsageException extends RuntimeException {
    @Serial
    private static final long serialVersionUID = 1L;

    /** A bad command line, and why. */
    public UsageException(String message) {
        super(message, null, false, false); // the message is the whole story: no stack trace to fill in
    }
}
