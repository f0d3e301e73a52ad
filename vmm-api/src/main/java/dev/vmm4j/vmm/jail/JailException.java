// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import java.util.Objects;

/**
 * A jail could not be set up: a seccomp filter or a Landlock ruleset was refused by the kernel, or cannot be built on
 * this host. The message names the call, the errno where there is one, and what the user can do; a failed native call
 * is the {@linkplain #getCause() cause} (a {@link dev.vmm4j.kvm.bindings.NativeCallException} with its errno).
 *
 * <p>A process that meant to run jailed must not go on serving a device after this: nothing, or only part, of the
 * jail is in place.
 */
public class JailException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * A failure described by {@code message}.
     *
     * @param message what was refused or cannot be built, and what the user can do; not null
     */
    public JailException(String message) {
        super(Objects.requireNonNull(message, "message"));
    }

    /**
     * A failure described by {@code message}, caused by {@code cause}.
     *
     * @param message what was refused, and what the user can do; not null
     * @param cause the failed call, normally a {@link dev.vmm4j.kvm.bindings.NativeCallException} with its errno; not
     *     null
     */
    public JailException(String message, Throwable cause) {
        super(Objects.requireNonNull(message, "message"), Objects.requireNonNull(cause, "cause"));
    }
}
