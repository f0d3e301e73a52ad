// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import java.util.List;
import java.util.Objects;

/**
 * {@link VirtualMachineBuilder#build()} could not build the VM. The message lists every problem it found
 * ({@code "cannot build the VM: no kernel: call kernel(path); disk image /a.img is not a regular file"}), each also in
 * {@link #problems()}; when KVM, a file or a device failed, the first such failure is the cause and the others are
 * suppressed. Whatever was set up was released, and the devices given to the builder were closed.
 */
public final class VmBuildException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The problems, in the order found; transient because a build's problems are for the user, not for the wire. */
    private final transient List<String> problems;

    /**
     * A build that failed for {@code problems}, each a line a user can act on; nothing failed, the configuration is
     * wrong.
     *
     * @param problems at least one; copied
     * @throws IllegalArgumentException if {@code problems} is empty
     */
    public VmBuildException(List<String> problems) {
        super(message(problems));
        this.problems = List.copyOf(problems);
    }

    /**
     * A build that failed for {@code problems}, the first of which {@code cause} explains.
     *
     * @param problems at least one; copied
     * @param cause the failure behind the first problem, with any later ones suppressed in it; not null
     * @throws IllegalArgumentException if {@code problems} is empty
     */
    public VmBuildException(List<String> problems, Throwable cause) {
        super(message(problems, cause), cause);
        this.problems = List.copyOf(problems);
    }

    private static String message(List<String> problems, Throwable cause) {
        Objects.requireNonNull(cause, "cause");
        return message(problems);
    }

    private static String message(List<String> problems) {
        Objects.requireNonNull(problems, "problems");
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("a failed build has at least one problem");
        }
        return "cannot build the VM: " + String.join("; ", problems);
    }

    /** {@return every problem, one line each, in the order found} */
    public List<String> problems() {
        return problems == null ? List.of(getMessage()) : problems;
    }
}
