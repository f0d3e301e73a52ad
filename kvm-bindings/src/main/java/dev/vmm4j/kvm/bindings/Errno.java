// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.kvm.bindings;

import java.lang.foreign.MemorySegment;
import java.util.Locale;

/**
 * Names and descriptions of {@code errno} values, as glibc spells them ({@code EEXIST}, "File exists").
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class Errno {
    private Errno() {}

    /** {@return the symbolic name of {@code errno}, such as {@code EEXIST}, or {@code errno 1234} if libc knows none} */
    public static String name(int errno) {
        return cString(errno, true);
    }

    /** {@return the description of {@code errno}, such as {@code File exists}, in English whatever the locale} */
    public static String description(int errno) {
        return cString(errno, false);
    }

    /** {@return {@code EEXIST (File exists)}} */
    public static String describe(int errno) {
        return name(errno) + " (" + description(errno) + ")";
    }

    @SuppressWarnings("restricted")
    private static String cString(int errno, boolean name) {
        try {
            MemorySegment text = name ? LinuxHeaders.strerrorname_np(errno) : LinuxHeaders.strerrordesc_np(errno);
            if (text.equals(MemorySegment.NULL)) {
                return unknown(errno);
            }
            // SAFETY: glibc returns a pointer to a static NUL-terminated string that lives as long as the process.
            return text.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (RuntimeException | LinkageError e) {
            // A libc without strerrorname_np (musl, glibc < 2.32): the number still identifies the error.
            return unknown(errno);
        }
    }

    private static String unknown(int errno) {
        return String.format(Locale.ROOT, "errno %d", errno);
    }
}
