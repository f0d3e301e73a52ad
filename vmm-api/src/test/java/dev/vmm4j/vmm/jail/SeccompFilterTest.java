// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.AF_INET;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.AF_UNIX;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.AUDIT_ARCH_AARCH64;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.AUDIT_ARCH_X86_64;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.CLONE_FILES;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.CLONE_FS;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.CLONE_NEWNET;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.CLONE_SIGHAND;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.CLONE_THREAD;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.CLONE_VM;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.EAFNOSUPPORT;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.ENOSYS;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.EPERM;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.SECCOMP_RET_ALLOW;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.SECCOMP_RET_ERRNO;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.SECCOMP_RET_KILL_PROCESS;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.SIGKILL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The compiler's decisions, checked by running its programs through {@link BpfInterpreter} on made-up
 * {@code seccomp_data}: nothing is installed, so these run on any host.
 */
class SeccompFilterTest {
    private static final int ALLOW = SECCOMP_RET_ALLOW();
    private static final int DENY = SECCOMP_RET_ERRNO() | EPERM();
    private static final int X86 = AUDIT_ARCH_X86_64();
    private static final int X32_BIT = 0x4000_0000;
    /** pthread_create's clone flags (glibc 2.36), and fork's. */
    private static final long THREAD_FLAGS = CLONE_VM()
            | CLONE_FS()
            | CLONE_FILES()
            | CLONE_SIGHAND()
            | CLONE_THREAD()
            | 0x0004_0000 /* SYSVSEM */
            | 0x0008_0000 /* SETTLS */
            | 0x0010_0000 /* PARENT_SETTID */
            | 0x0020_0000 /* CHILD_CLEARTID */;

    private static final long FORK_FLAGS = 0x0120_0000L /* CHILD_SETTID | CHILD_CLEARTID */ | 17 /* SIGCHLD */;

    private static int decide(SyscallPolicy policy, String syscall, long... args) {
        return BpfInterpreter.run(
                SeccompFilter.compile(policy).instructions(), SyscallTable.number(syscall), X86, args);
    }

    @Test
    void anotherArchitectureIsKilledWhateverTheCall() {
        List<BpfInstruction> program =
                SeccompFilter.compile(SyscallPolicy.jvm()).instructions();
        // aarch64's 63 is read, x86_64's 0 is read: numbers from another ABI name other calls.
        assertEquals(SECCOMP_RET_KILL_PROCESS(), BpfInterpreter.run(program, 63, AUDIT_ARCH_AARCH64()));
        assertEquals(SECCOMP_RET_KILL_PROCESS(), BpfInterpreter.run(program, 0, AUDIT_ARCH_AARCH64()));
        assertEquals(SECCOMP_RET_KILL_PROCESS(), BpfInterpreter.run(program, 3, 0x4000_0003 /* AUDIT_ARCH_I386 */));
    }

    @Test
    void x32SyscallNumbersAreRefused() {
        List<BpfInstruction> program =
                SeccompFilter.compile(SyscallPolicy.jvm()).instructions();
        int read = LinuxHeaders.SYS_read();
        assertEquals(ALLOW, BpfInterpreter.run(program, read, X86));
        assertEquals(DENY, BpfInterpreter.run(program, read | X32_BIT, X86));
        assertEquals(DENY, BpfInterpreter.run(program, LinuxHeaders.SYS_futex() | X32_BIT, X86));
    }

    @Test
    void theJvmPolicyAllowsItsCallsAndRefusesTheRest() {
        SyscallPolicy jvm = SyscallPolicy.jvm();
        for (String allowed : List.of("futex", "read", "pread64", "mmap", "epoll_wait", "rt_sigreturn", "exit_group")) {
            assertEquals(ALLOW, decide(jvm, allowed), allowed);
        }
        for (String refused : DangerousSyscalls.NAMES) {
            assertEquals(DENY, decide(jvm, refused), refused);
        }
        assertEquals(SECCOMP_RET_ERRNO() | ENOSYS(), decide(jvm, "clone3"));
        // Syscall numbers no rule names, also past the last one.
        assertEquals(DENY, BpfInterpreter.run(SeccompFilter.compile(jvm).instructions(), 1000, X86));
    }

    @Test
    void cloneIsAllowedToStartThreadsOnly() {
        SyscallPolicy jvm = SyscallPolicy.jvm();
        assertEquals(ALLOW, decide(jvm, "clone", THREAD_FLAGS));
        assertEquals(DENY, decide(jvm, "clone", FORK_FLAGS));
        assertEquals(DENY, decide(jvm, "clone", CLONE_VM() | 0x0000_4000L /* VFORK */ | 17));
        assertEquals(DENY, decide(jvm, "clone", THREAD_FLAGS | CLONE_NEWNET()), "a thread in a new namespace");
    }

    @Test
    void signalsGoOnlyToThisProcess() {
        SyscallPolicy jvm = SyscallPolicy.jvm();
        long pid = ProcessHandle.current().pid();
        assertEquals(ALLOW, decide(jvm, "tgkill", pid, 1234, SIGKILL()));
        assertEquals(DENY, decide(jvm, "tgkill", pid + 1, 1234, SIGKILL()));
        assertEquals(DENY, decide(jvm, "tgkill", pid | 1L << 32, 1234, SIGKILL()), "differs in the high half only");
    }

    @Test
    void argumentEqualityComparesBothHalves() {
        long value = 0x1234_5678_9abc_def0L;
        SyscallPolicy policy =
                SyscallPolicy.builder("test").allowIf("ioctl", 1, value).build();
        assertEquals(ALLOW, decide(policy, "ioctl", 3, value));
        assertEquals(DENY, decide(policy, "ioctl", 3, value ^ 1L << 32), "high half differs");
        assertEquals(DENY, decide(policy, "ioctl", 3, value ^ 1L), "low half differs");
        assertEquals(DENY, decide(policy, "ioctl", 3, value & 0xffff_ffffL), "high half zero");
        assertEquals(DENY, decide(policy, "ioctl", value, 3), "another argument");

        SyscallPolicy small =
                SyscallPolicy.builder("test").allowIf("socket", 0, AF_UNIX()).build();
        assertEquals(ALLOW, decide(small, "socket", AF_UNIX(), 1, 0));
        assertEquals(DENY, decide(small, "socket", AF_UNIX() | 1L << 32, 1, 0), "differs in the high half only");
        assertEquals(DENY, decide(small, "socket", AF_INET(), 1, 0));
    }

    @Test
    void maskedChecksTestOnlyTheMaskedBits() {
        SyscallPolicy policy = SyscallPolicy.builder("test")
                .allowIfMaskedEquals("mmap", 2, 0x4, 0) // no PROT_EXEC
                .allowIfMaskedEquals("madvise", 2, 0xffff_ffff_0000_0000L, 0x1_0000_0000L)
                .allowIfMaskedEquals("socket", 0, 0xffff_ffffL, AF_UNIX()) // the low half only
                .build();
        assertEquals(ALLOW, decide(policy, "mmap", 0, 4096, 0x3));
        assertEquals(DENY, decide(policy, "mmap", 0, 4096, 0x7));
        assertEquals(ALLOW, decide(policy, "madvise", 0, 4096, 0x1_0000_0004L));
        assertEquals(DENY, decide(policy, "madvise", 0, 4096, 0x2_0000_0004L));
        assertEquals(ALLOW, decide(policy, "socket", 0xdead_beef_0000_0000L | AF_UNIX()), "garbage in the high half");
        assertEquals(DENY, decide(policy, "socket", AF_INET()));
    }

    @Test
    void checksOfOneSyscallAreAlternativesAndItsErrnoIsTheFallback() {
        SyscallPolicy policy = SyscallPolicy.builder("test")
                .allowIf("socket", 0, AF_UNIX())
                .allowIf("socket", 0, 40 /* AF_VSOCK */)
                .fail("socket", EAFNOSUPPORT())
                .fail("bpf", ENOSYS())
                .build();
        assertEquals(ALLOW, decide(policy, "socket", AF_UNIX()));
        assertEquals(ALLOW, decide(policy, "socket", 40));
        assertEquals(SECCOMP_RET_ERRNO() | EAFNOSUPPORT(), decide(policy, "socket", AF_INET()));
        assertEquals(SECCOMP_RET_ERRNO() | ENOSYS(), decide(policy, "bpf", 0));
        assertEquals(DENY, decide(policy, "read"));
    }

    @Test
    void devicePoliciesAddTheirCalls() {
        SyscallPolicy vsock = SyscallPolicy.jvm().with(SyscallPolicy.vsockDevice());
        assertEquals(DENY, decide(vsock, "socket", AF_UNIX(), 1, 0), "the VMM makes its connections");
        assertEquals(DENY, decide(vsock, "connect", 3, 0, 0));
        assertEquals(DENY, decide(vsock, "unlink", 0));
        assertEquals(ALLOW, decide(vsock, "accept4", 3, 0, 0, 0));
        SyscallPolicy block = SyscallPolicy.jvm().with(SyscallPolicy.blockDevice());
        assertEquals(ALLOW, decide(block, "fdatasync", 3));
        assertEquals(DENY, decide(SyscallPolicy.jvm(), "fdatasync", 3));
        SyscallPolicy net = SyscallPolicy.jvm().with(SyscallPolicy.networkDevice());
        assertEquals(ALLOW, decide(net, "ioctl", 3, LinuxHeaders.TUNSETOFFLOAD(), 0));
        assertEquals(DENY, decide(net, "ioctl", 3, LinuxHeaders.TUNSETIFF(), 0));
        SyscallPolicy nineP = SyscallPolicy.jvm().with(SyscallPolicy.sharedDirectory());
        assertEquals(ALLOW, decide(nineP, "openat2"));
        assertEquals(DENY, decide(nineP, "execve"));
    }

    @Test
    void threeHundredSyscallsCompileIntoAProgramLongerThanAJump() {
        List<String> names = allSyscallNames().subList(0, 300);
        SyscallPolicy policy =
                SyscallPolicy.builder("big").allow(names.toArray(String[]::new)).build();
        List<BpfInstruction> program = SeccompFilter.compile(policy).instructions();
        assertTrue(program.size() > 2 * 255, "program of " + program.size());
        for (String name : names) {
            assertEquals(ALLOW, BpfInterpreter.run(program, SyscallTable.number(name), X86), name);
        }
        for (String name : allSyscallNames().subList(300, allSyscallNames().size())) {
            assertEquals(DENY, BpfInterpreter.run(program, SyscallTable.number(name), X86), name);
        }
    }

    @Test
    void aRuleLongerThanAJumpIsSkippedWithALongJump() {
        SyscallPolicy.Builder builder = SyscallPolicy.builder("big").allow("futex");
        for (int i = 0; i < 300; i++) {
            builder.allowIf("ioctl", 1, 0x1000L + i);
        }
        SyscallPolicy policy = builder.allow("read").fail("ioctl", ENOSYS()).build();
        List<BpfInstruction> program = SeccompFilter.compile(policy).instructions();
        assertTrue(program.stream().anyMatch(i -> i.code() == 0x05), "an unconditional jump: " + program.size());
        int ioctl = LinuxHeaders.SYS_ioctl();
        assertEquals(ALLOW, BpfInterpreter.run(program, ioctl, X86, 3, 0x1000L));
        assertEquals(ALLOW, BpfInterpreter.run(program, ioctl, X86, 3, 0x1000L + 150));
        assertEquals(ALLOW, BpfInterpreter.run(program, ioctl, X86, 3, 0x1000L + 299));
        assertEquals(SECCOMP_RET_ERRNO() | ENOSYS(), BpfInterpreter.run(program, ioctl, X86, 3, 0x1000L + 300));
        assertEquals(ALLOW, BpfInterpreter.run(program, LinuxHeaders.SYS_read(), X86), "a rule after the long one");
        assertEquals(ALLOW, BpfInterpreter.run(program, LinuxHeaders.SYS_futex(), X86), "a rule before it");
        assertEquals(DENY, BpfInterpreter.run(program, LinuxHeaders.SYS_write(), X86));
    }

    @Test
    void aProgramOverTheKernelsLimitIsRefused() {
        SyscallPolicy.Builder builder = SyscallPolicy.builder("huge");
        for (int i = 0; i < 900; i++) {
            builder.allowIf("ioctl", 1, 0x1_0000_0000L + i);
        }
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> SeccompFilter.compile(builder.build()));
        assertTrue(e.getMessage().contains("4096"), e.getMessage());
    }

    @Test
    void compilingOnAnotherArchitectureSaysTheTablesAreX86s() {
        JailException e =
                assertThrows(JailException.class, () -> SeccompFilter.compile(SyscallPolicy.jvm(), "aarch64"));
        assertTrue(e.getMessage().contains("x86_64") && e.getMessage().contains("aarch64"), e.getMessage());
    }

    @Test
    void theProgramStartsWithTheArchitectureCheck() {
        List<BpfInstruction> program =
                SeccompFilter.compile(SyscallPolicy.jvm()).instructions();
        assertEquals(new BpfInstruction(0x20, 0, 0, 4), program.get(0), "load seccomp_data.arch");
        assertEquals(new BpfInstruction(0x15, 1, 0, X86), program.get(1));
        assertEquals(new BpfInstruction(0x06, 0, 0, SECCOMP_RET_KILL_PROCESS()), program.get(2));
        assertEquals(new BpfInstruction(0x06, 0, 0, DENY), program.getLast(), "the default");
    }

    /** Every x86_64 syscall name the bindings know, in number order. */
    static List<String> allSyscallNames() {
        List<Method> methods = new ArrayList<>();
        for (Method method : LinuxHeaders.class.getMethods()) {
            if (method.getName().startsWith("SYS_")
                    && method.getParameterCount() == 0
                    && Modifier.isStatic(method.getModifiers())) {
                methods.add(method);
            }
        }
        return methods.stream()
                .map(m -> m.getName().substring(4))
                .sorted((a, b) -> Integer.compare(SyscallTable.number(a), SyscallTable.number(b)))
                .toList();
    }

    @Test
    void everyGeneratedNameResolves() {
        List<String> names = allSyscallNames();
        assertTrue(names.size() > 350, names.size() + " names");
        assertEquals(0, SyscallTable.number("read"));
        assertEquals(257, SyscallTable.number("openat"));
        assertTrue(Arrays.asList(names.toArray()).contains("clone3"));
    }
}
