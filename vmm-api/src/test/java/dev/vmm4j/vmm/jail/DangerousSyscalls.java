// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import java.util.List;

/** The calls a jailed device must never make, which {@link SyscallPolicy#jvm()} must not allow. */
final class DangerousSyscalls {
    static final List<String> NAMES = List.of(
            "execve",
            "execveat",
            "ptrace",
            "mount",
            "umount2",
            "pivot_root",
            "socket",
            "connect",
            "bind",
            "listen",
            "open",
            "openat",
            "openat2",
            "creat",
            "kexec_load",
            "kexec_file_load",
            "bpf",
            "perf_event_open",
            "userfaultfd",
            "ioctl",
            "init_module",
            "finit_module",
            "delete_module",
            "setns",
            "unshare",
            "keyctl",
            "add_key",
            "request_key",
            "process_vm_readv",
            "process_vm_writev",
            "kill",
            "fork",
            "vfork");

    private DangerousSyscalls() {}
}
