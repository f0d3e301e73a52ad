// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.loader;

import java.util.Objects;

/** A file is not a loadable arm64 kernel Image; the message says what is wrong with it. */
public final class InvalidKernelException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /**
     * {@code problem} with the kernel named {@code what}.
     *
     * @param what names the kernel, such as its path
     * @param problem what is wrong, worded to follow "cannot load <i>what</i>: ", such as "it is not an arm64 Image"
     */
    public InvalidKernelException(String what, String problem) {
        super("cannot load " + Objects.requireNonNull(what, "what") + ": "
                + Objects.requireNonNull(problem, "problem"));
    }
}
