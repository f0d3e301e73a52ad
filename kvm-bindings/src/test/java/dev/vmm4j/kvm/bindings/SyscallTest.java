// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.kvm.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The system call numbers, held to the kernel's headers, and calls made through them. */
class SyscallTest {
    /** x86_64's numbers are jextract's, from asm/unistd_64.h. */
    @Test
    void x86_64NumbersAreTheHeaders() throws Throwable {
        for (Syscall call : Syscall.values()) {
            String name = "SYS_" + call.name().toLowerCase(Locale.ROOT);
            int header = (int) MethodHandles.publicLookup()
                    .findStatic(LinuxHeaders.class, name, MethodType.methodType(int.class))
                    .invokeExact();
            assertEquals(header, call.number("amd64"), name);
        }
    }

    /**
     * aarch64's are the generic table's, asm-generic/unistd.h, which the C toolchain the build needs installs (mmap is
     * defined there through __NR3264_mmap).
     */
    @Test
    void aarch64NumbersAreTheGenericTable() throws IOException {
        Path header = Path.of("/usr/include/asm-generic/unistd.h");
        assertTrue(
                Files.isRegularFile(header),
                header + " is missing: install linux-libc-dev (the build's C toolchain has it)");
        Map<String, Long> defined = new HashMap<>();
        Matcher define = Pattern.compile("(?m)^#define (__NR\\w+) (\\d+)$").matcher(Files.readString(header));
        while (define.find()) {
            defined.put(define.group(1), Long.parseLong(define.group(2)));
        }
        // and the 64-bit names of the calls the table numbers once for both word sizes (__NR_newfstatat)
        Matcher alias =
                Pattern.compile("(?m)^#define (__NR_\\w+) (__NR3264_\\w+)$").matcher(Files.readString(header));
        while (alias.find()) {
            if (defined.containsKey(alias.group(2))) {
                defined.putIfAbsent(alias.group(1), defined.get(alias.group(2)));
            }
        }
        for (Syscall call : Syscall.values()) {
            String name = call.name().toLowerCase(Locale.ROOT);
            Long number = defined.getOrDefault("__NR_" + name, defined.get("__NR3264_" + name));
            assertEquals(number == null ? -1L : number, call.number("aarch64"), name + " (-1: the table has none)");
        }
        assertEquals(-1, Syscall.EPOLL_WAIT.number("aarch64"), "aarch64 has only epoll_pwait");
        assertEquals(-1, Syscall.POLL.number("aarch64"), "aarch64 has only ppoll");
        assertThrows(IllegalArgumentException.class, () -> Syscall.GETTID.number("riscv64"));
    }

    @Test
    void callsGoThroughAndFailuresAreNegativeErrno() {
        assertTrue(NativeCall.syscall(Syscall.GETTID, 0, 0, 0, 0, 0, 0) > 0);
        assertEquals(-LinuxHeaders.EBADF(), NativeCall.syscall(Syscall.CLOSE, -1, 0, 0, 0, 0, 0));
        assertEquals(-LinuxHeaders.EBADF(), NativeCall.ioctl(-1, 0, 0), "an ioctl on no fd");
    }
}
