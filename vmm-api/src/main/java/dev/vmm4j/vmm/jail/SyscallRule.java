// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import dev.vmm4j.kvm.bindings.Errno;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a policy says about one syscall: allowed always, allowed when one of its argument checks holds, and what it
 * returns otherwise ({@code errno}, or 0 for the filter's default, {@code EPERM}).
 *
 * @param name the x86_64 name, such as {@code openat}
 * @param number its x86_64 number
 * @param always allowed whatever its arguments
 * @param checks alternatives: the call is allowed if any one holds (empty when {@code always})
 * @param errno what the call fails with when no check holds, or 0 for the default
 */
record SyscallRule(String name, int number, boolean always, List<ArgumentCheck> checks, int errno) {
    /** Largest errno a seccomp return value can carry (SECCOMP_RET_DATA is 16 bits, and errno values end at 4095). */
    static final int MAX_ERRNO = 4095;

    /**
     * Argument {@code argIndex} (0 to 5) holds when {@code (argument & mask) == value}, on all 64 bits.
     *
     * @param argIndex which argument, 0 to 5
     * @param mask the bits compared; -1 for equality
     * @param value what those bits must be
     */
    record ArgumentCheck(int argIndex, long mask, long value) {
        @Override
        public String toString() {
            return mask == -1L
                    ? String.format(Locale.ROOT, "arg%d == %#x", argIndex, value)
                    : String.format(Locale.ROOT, "(arg%d & %#x) == %#x", argIndex, mask, value);
        }
    }

    SyscallRule {
        checks = List.copyOf(checks);
    }

    /**
     * {@return this rule and {@code other} (same syscall) together: allowed when either allows}
     *
     * @throws IllegalStateException if one fails the call that the other allows whatever its arguments, or the two
     *     fail it with different errnos
     */
    SyscallRule merge(SyscallRule other) {
        boolean mergedAlways = always || other.always;
        int mergedErrno = errno;
        if (other.errno != 0) {
            if (errno != 0 && errno != other.errno) {
                throw new IllegalStateException(String.format(
                        Locale.ROOT,
                        "%s fails with %s in one policy and %s in another",
                        name,
                        Errno.name(errno),
                        Errno.name(other.errno)));
            }
            mergedErrno = other.errno;
        }
        if (mergedAlways && mergedErrno != 0) {
            throw new IllegalStateException(String.format(
                    Locale.ROOT,
                    "%s is allowed whatever its arguments and also made to fail with %s: choose one",
                    name,
                    Errno.name(mergedErrno)));
        }
        List<ArgumentCheck> mergedChecks = new ArrayList<>();
        if (!mergedAlways) {
            mergedChecks.addAll(checks);
            for (ArgumentCheck check : other.checks) {
                if (!mergedChecks.contains(check)) {
                    mergedChecks.add(check);
                }
            }
        }
        return new SyscallRule(name, number, mergedAlways, mergedChecks, mergedErrno);
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder(name);
        if (always) {
            return text.toString();
        }
        if (!checks.isEmpty()) {
            text.append(" if ")
                    .append(String.join(
                            " || ", checks.stream().map(ArgumentCheck::toString).toList()));
        }
        if (errno != 0) {
            text.append(checks.isEmpty() ? " fails with " : ", else ").append(Errno.name(errno));
        }
        return text.toString();
    }
}
