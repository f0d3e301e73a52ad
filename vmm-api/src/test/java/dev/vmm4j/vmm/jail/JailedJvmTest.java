// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A child JVM installs {@link SyscallPolicy#jvm()} for real, then proves it keeps working (threads, virtual threads,
 * GCs, the JIT, an open file, vmm4j's event loop, fd passing) and that each dangerous call fails with EPERM. Needs no
 * KVM and no privileges: seccomp filters are unprivileged under no_new_privs.
 */
class JailedJvmTest {
    private static final List<String> REFUSED = List.of(
            "openat /etc/passwd",
            "open /etc/passwd",
            "socket AF_INET",
            "socket AF_UNIX",
            "execve /bin/true",
            "ptrace parent",
            "mount",
            "kexec_load",
            "bpf",
            "perf_event_open",
            "userfaultfd",
            "ioctl KVM_GET_API_VERSION",
            "fork",
            "kill parent",
            "tgkill parent",
            "unshare",
            "setns",
            "prctl PR_SET_SECCOMP");

    @TempDir
    Path dir;

    private ChildJvm runChild(String mode, String gc) throws Exception {
        Path file = dir.resolve("opened-before.txt");
        Files.writeString(file, "written by the parent\n");
        ChildJvm child = ChildJvm.run(
                JailedChild.class,
                List.of("-XX:+Use" + gc + "GC", "-XX:+PrintCompilation", "-XX:+DisplayVMOutputToStderr"),
                mode,
                file.toString(),
                Long.toString(ProcessHandle.current().pid()));
        assertEquals(0, child.exitCode(), child.transcript());
        assertTrue(child.stdout().contains("done"), child.transcript());
        return child;
    }

    @ParameterizedTest
    @ValueSource(strings = {"G1", "Serial"})
    void aJailedJvmKeepsWorking(String gc) throws Exception {
        ChildJvm child = runChild("jvm", gc);
        Matcher work = Pattern.compile("work 2 gcs=(\\d+) file=(.*) events=(\\d+) fdPassed=(\\w+)")
                .matcher(child.stdout());
        assertTrue(work.find(), child.transcript());
        assertEquals("3", work.group(1), "GCs under the filter");
        assertEquals("written by the parent", work.group(2));
        assertEquals("42", work.group(3), "the event loop's eventfd value");
        assertEquals("true", work.group(4), "an eventfd received with SCM_RIGHTS works");
        assertTrue(child.stderr().contains("JailedChild::hotAfterFilter"), "the JIT compiled under the filter");
        assertTrue(child.stdout().contains("installed SeccompFilter[jvm, "), child.transcript());
    }

    @Test
    void aJailedJvmIsRefusedEachDangerousCallWithEperm() throws Exception {
        ChildJvm child = runChild("jvm", "G1");
        Map<String, String> probes = child.values("probe");
        for (String call : REFUSED) {
            assertEquals("EPERM", probes.get(call), call + "\n" + child.transcript());
        }
        assertEquals("ENOSYS", probes.get("clone3"), "glibc falls back to clone");
        assertEquals("ok", probes.get("tgkill own thread"));
        assertEquals("ok", probes.get("prctl PR_SET_NAME"));
    }

    @Test
    void aDeviceAdditionAllowsOnlyWhatItNames() throws Exception {
        ChildJvm child = runChild("unix-sockets", "G1");
        Map<String, String> probes = child.values("probe");
        assertTrue(child.stdout().contains("installed SeccompFilter[jvm+unix-sockets, "), child.transcript());
        assertEquals("ok", probes.get("socket AF_UNIX"), child.transcript());
        assertEquals("EPERM", probes.get("socket AF_INET"));
        assertEquals("EPERM", probes.get("openat /etc/passwd"));
        assertEquals("EPERM", probes.get("execve /bin/true"));
    }
}
