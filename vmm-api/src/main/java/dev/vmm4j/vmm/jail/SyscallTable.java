// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The one place syscall names become numbers: x86_64's, from the {@code SYS_*} constants jextract generated from
 * {@code <sys/syscall.h>} (every one of them, see kvm-bindings/jextract-includes.txt).
 *
 * <p>A name is looked up on first use, as the public static {@code LinuxHeaders.SYS_<name>()} method, and cached:
 * reflecting over all of {@code LinuxHeaders}' methods at once would resolve the types of thousands of methods to
 * find a few hundred.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class SyscallTable {
    private static final Pattern NAME = Pattern.compile("[a-z_][a-z0-9_]*");
    private static final MethodType NUMBER_GETTER = MethodType.methodType(int.class);
    private static final Map<String, Integer> NUMBERS = new ConcurrentHashMap<>();

    private SyscallTable() {}

    /**
     * {@return the x86_64 number of syscall {@code name}, such as 257 for {@code openat}}
     *
     * @throws IllegalArgumentException if x86_64 has no syscall of that name
     */
    static int number(String name) {
        Integer known = NUMBERS.get(name);
        if (known != null) {
            return known;
        }
        int number = lookUp(name);
        NUMBERS.put(name, number);
        return number;
    }

    private static int lookUp(String name) {
        if (!NAME.matcher(name).matches()) {
            throw unknown(name, name.toUpperCase(Locale.ROOT).startsWith("SYS_") ? "drop the SYS_ prefix" : null);
        }
        MethodHandle getter;
        try {
            getter = MethodHandles.publicLookup().findStatic(LinuxHeaders.class, "SYS_" + name, NUMBER_GETTER);
        } catch (NoSuchMethodException e) {
            throw unknown(name, hint(name));
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("LinuxHeaders.SYS_" + name + " is not public", e);
        }
        try {
            return (int) getter.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("reading LinuxHeaders.SYS_" + name, t);
        }
    }

    /** Names that people reach for but x86_64 spells differently or lacks. */
    private static String hint(String name) {
        return switch (name) {
            case "fstatat", "fstatat64" -> "x86_64 calls it newfstatat";
            case "pread", "pwrite" -> "x86_64 calls it " + name + "64";
            case "mmap2", "fstat64", "stat64", "fcntl64", "_llseek" -> "that is a 32-bit ABI call";
            default -> null;
        };
    }

    private static IllegalArgumentException unknown(String name, String hint) {
        String message = "unknown syscall name '" + name + "': x86_64 has no such system call (names are those of"
                + " <sys/syscall.h> without SYS_, such as openat or newfstatat)";
        return new IllegalArgumentException(hint == null ? message : message + "; " + hint);
    }
}
