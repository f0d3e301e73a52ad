// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import dev.vmm4j.kvm.bindings.NativeCallException;
import java.util.Objects;

/**
 * KVM refused something: an ioctl failed (the message names it and the errno, such as
 * {@code KVM_CREATE_VCPU failed: EEXIST (File exists): vcpu 0 already exists}), or the host's KVM lacks what
 * vmm4j needs (then {@link #errno()} is 0).
 */
public final class KvmException extends NativeCallException {
    private static final long serialVersionUID = 1L;

    /**
     * {@code ioctl} failed with {@code errno}; {@code hint}, if not empty, says why or what to do.
     *
     * @param ioctl the call that failed, as {@code <linux/kvm.h>} names it (such as {@code KVM_CREATE_VCPU})
     * @param errno the positive errno it failed with
     * @param hint appended to the message after the errno; empty for none, never null
     */
    public KvmException(String ioctl, int errno, String hint) {
        super(ioctl, errno, Objects.requireNonNull(hint, "hint"));
    }

    /**
     * KVM on this host cannot do what was asked; {@code message} says what and why. {@link #errno()} is 0.
     *
     * @param call the call or check that found the problem, such as {@code KVM_CHECK_EXTENSION}
     * @param message the whole message, taken as it is; never null
     */
    public KvmException(String call, String message) {
        super(call, 0, Objects.requireNonNull(message, "message"), null);
    }
}
