// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * The child JVM of {@link FdSocketTest#receivedFdsAreCloseOnExecFromTheMomentTheyArrive}: receives an fd over an
 * {@link FdSocket} under a seccomp filter that refuses {@code fcntl(F_SETFD)}, so that only {@code recvmsg} itself
 * ({@code MSG_CMSG_CLOEXEC}) can have made it close-on-exec, and prints {@code close-on-exec true} or {@code false}.
 */
final class CloseOnExecChild {
    private CloseOnExecChild() {}

    public static void main(String[] args) throws Exception {
        FdSocket[] pair = FdSocket.pair();
        try (FdSocket a = pair[0];
                FdSocket b = pair[1];
                EventFd event = EventFd.create()) {
            receiveCloseOnExec(a, b, event); // once before the filter, so that every class it needs is loaded
            SyscallPolicy.Builder policy = SyscallPolicy.builder("jvm-without-F_SETFD");
            for (String syscall : SyscallPolicy.jvm().syscalls()) {
                if (!syscall.equals("fcntl")) {
                    policy.allow(syscall);
                }
            }
            for (int command : new int[] {
                LinuxHeaders.F_DUPFD(),
                LinuxHeaders.F_DUPFD_CLOEXEC(),
                LinuxHeaders.F_GETFD(),
                LinuxHeaders.F_GETFL(),
                LinuxHeaders.F_SETFL()
            }) {
                policy.allowIfMaskedEquals("fcntl", 1, 0xffff_ffffL, command);
            }
            SeccompFilter.compile(policy.build()).install();
            System.out.println(receiveCloseOnExec(a, b, event) ? "close-on-exec true" : "close-on-exec false");
        }
    }

    private static boolean receiveCloseOnExec(FdSocket a, FdSocket b, EventFd event) throws IOException {
        a.send("fd".getBytes(StandardCharsets.US_ASCII), List.of(event.fd()));
        List<OwnedFd> fds = b.receive(Duration.ofSeconds(10)).orElseThrow().fds();
        try {
            int flags = Libc.fcntl(fds.getFirst().get(), LinuxHeaders.F_GETFD(), 0);
            return flags >= 0 && (flags & LinuxHeaders.FD_CLOEXEC()) != 0;
        } finally {
            fds.forEach(OwnedFd::close);
        }
    }
}
