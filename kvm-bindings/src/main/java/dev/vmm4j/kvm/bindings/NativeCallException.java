// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.kvm.bindings;

import java.util.Objects;

/**
 * A native call failed: the message names the call and the error, as in
 * {@code KVM_CREATE_VCPU failed: EEXIST (File exists)}, optionally followed by a hint for the user.
 */
public class NativeCallException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    /** A failure of {@code call} with {@code errno}. */
    public NativeCallException(String call, int errno) {
        this(call, errno, "");
    }

    /** A failure of {@code call} with {@code errno}; {@code hint}, if not empty, says what the user can do. */
    public NativeCallException(String call, int errno, String hint) {
        super(message(call, errno, hint));
        this.call = call;
        this.errno = errno;
    }

    /** For subclasses whose failures are not always an errno: {@code errno} is 0 then. */
    protected NativeCallException(String call, int errno, String message, Throwable cause) {
        super(message, cause);
        this.call = Objects.requireNonNull(call, "call");
        this.errno = errno;
    }

    /** {@return the call that failed, such as {@code KVM_CREATE_VM} or {@code mmap}} */
    public String call() {
        return call;
    }

    /** {@return the errno the call failed with, or 0 when the failure was not an errno} */
    public int errno() {
        return errno;
    }

    /** {@return the symbolic name of {@link #errno()}, such as {@code EEXIST}} */
    public String errnoName() {
        return Errno.name(errno);
    }

    private static String message(String call, int errno, String hint) {
        String message = Objects.requireNonNull(call, "call") + " failed: " + Errno.describe(errno);
        return hint == null || hint.isEmpty() ? message : message + ": " + hint;
    }
}
