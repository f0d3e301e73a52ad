// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.ENOSYS;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.EPERM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Building and combining policies: names checked at once, contradictions refused with messages that say which. */
class SyscallPolicyTest {
    @Test
    void anUnknownSyscallNameIsRefusedWhenTheRuleIsAdded() {
        SyscallPolicy.Builder builder = SyscallPolicy.builder("test");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> builder.allow("read", "opn"));
        assertEquals(
                "unknown syscall name 'opn': x86_64 has no such system call (names are those of <sys/syscall.h>"
                        + " without SYS_, such as openat or newfstatat)",
                e.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> builder.allow("SYS_openat"))
                .getMessage()
                .contains("drop the SYS_ prefix"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> builder.allowIf("fstatat", 1, 0))
                .getMessage()
                .contains("newfstatat"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> builder.fail("pread", EPERM()))
                .getMessage()
                .contains("pread64"));
        assertThrows(IllegalArgumentException.class, () -> builder.allow("mmap2"));
        assertThrows(IllegalArgumentException.class, () -> builder.allow(""));
        assertThrows(IllegalArgumentException.class, () -> builder.allow("read; drop"));
    }

    @Test
    void argumentIndexesErrnosAndMasksAreChecked() {
        SyscallPolicy.Builder builder = SyscallPolicy.builder("test");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> builder.allowIf("socket", 6, 1))
                .getMessage()
                .contains("0 to 5"));
        assertThrows(IllegalArgumentException.class, () -> builder.allowIf("socket", -1, 1));
        assertThrows(IllegalArgumentException.class, () -> builder.fail("clone3", 0));
        assertThrows(IllegalArgumentException.class, () -> builder.fail("clone3", 4096));
        assertTrue(
                assertThrows(IllegalArgumentException.class, () -> builder.allowIfMaskedEquals("clone", 0, 0xff, 0x100))
                        .getMessage()
                        .contains("could never hold"));
        assertThrows(IllegalArgumentException.class, () -> SyscallPolicy.builder(" "));
    }

    @Test
    void allowingACallAndMakingItFailIsAContradiction() {
        SyscallPolicy.Builder builder = SyscallPolicy.builder("confused").allow("clone3");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> builder.fail("clone3", ENOSYS()));
        assertEquals(
                "policy confused: clone3 is allowed whatever its arguments and also made to fail with ENOSYS: choose one",
                e.getMessage());
        IllegalStateException twoErrnos = assertThrows(
                IllegalStateException.class,
                () -> SyscallPolicy.builder("two").fail("bpf", ENOSYS()).fail("bpf", EPERM()));
        assertTrue(twoErrnos.getMessage().contains("ENOSYS")
                && twoErrnos.getMessage().contains("EPERM"));

        SyscallPolicy allowsClone3 =
                SyscallPolicy.builder("new-glibc").allow("clone3").build();
        IllegalStateException combined = assertThrows(
                IllegalStateException.class, () -> SyscallPolicy.jvm().with(allowsClone3));
        assertTrue(combined.getMessage().startsWith("policy jvm+new-glibc: clone3"), combined.getMessage());
    }

    @Test
    void combiningAllowsWhatEitherAllows() {
        SyscallPolicy a =
                SyscallPolicy.builder("a").allow("read").allowIf("socket", 0, 1).build();
        SyscallPolicy b = SyscallPolicy.builder("b")
                .allow("socket", "write")
                .fail("bpf", ENOSYS())
                .build();
        SyscallPolicy both = a.with(b);
        assertEquals("a+b", both.name());
        assertEquals(List.of("read", "socket", "write", "bpf"), List.copyOf(both.syscalls()));
        assertTrue(both.allowsAlways("socket"), "an unconditional allow absorbs the argument check");
        assertFalse(both.allowsAlways("bpf"));
        assertFalse(a.allowsAlways("socket"));
        assertEquals("SyscallPolicy[a+b: read, socket, write, bpf fails with ENOSYS]", both.toString());
        assertEquals("SyscallPolicy[a: read, socket if arg0 == 0x1]", a.toString());
    }

    @Test
    void theJvmPolicyNamesNoDangerousCall() {
        SyscallPolicy jvm = SyscallPolicy.jvm();
        for (String dangerous : Stream.concat(
                        DangerousSyscalls.NAMES.stream(),
                        Stream.of("seccomp", "landlock_restrict_self", "memfd_create", "chroot", "chdir"))
                .toList()) {
            assertFalse(jvm.syscalls().contains(dangerous), dangerous);
        }
        assertFalse(jvm.allowsAlways("clone"), "clone only for threads");
        assertFalse(jvm.allowsAlways("tgkill"), "signals only to this process");
        assertFalse(jvm.allowsAlways("prctl"), "prctl only to name threads");
        assertEquals("futex", jvm.syscalls().getFirst(), "the hottest call is tested first");
    }

    @Test
    void everyDevicePolicyCombinesWithTheJvms() {
        for (SyscallPolicy device : List.of(
                SyscallPolicy.blockDevice(),
                SyscallPolicy.networkDevice(),
                SyscallPolicy.vsockDevice(),
                SyscallPolicy.sharedDirectory(),
                SyscallPolicy.balloon(),
                SyscallPolicy.entropy())) {
            SyscallPolicy combined = SyscallPolicy.jvm().with(device);
            assertEquals("jvm+" + device.name(), combined.name());
            assertTrue(SeccompFilter.compile(combined).instructions().size() < SeccompFilter.MAX_INSTRUCTIONS);
        }
    }
}
