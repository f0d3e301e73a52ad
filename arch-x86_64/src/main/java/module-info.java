// SPDX-License-Identifier: Apache-2.0
/**
 * The x86_64 side of vmm4j: {@code X86_64Arch}, the {@code LinuxArch} that lays out memory, loads kernels and sets up
 * vCPUs; the kernel and initrd loaders and boot structures it uses; and the legacy PC devices a Linux guest expects on
 * the port-I/O bus ({@code I8042}, {@code Cmos}).
 */
@SuppressWarnings("module") // the name ends in digits: it is the architecture's name
module dev.vmm4j.arch.x86_64 {
    requires transitive dev.vmm4j.vmm;
    requires org.tukaani.xz;

    exports dev.vmm4j.arch.x86_64;
    exports dev.vmm4j.arch.x86_64.devices;
    exports dev.vmm4j.arch.x86_64.loader;
    exports dev.vmm4j.arch.x86_64.boot;
    exports dev.vmm4j.arch.x86_64.assist;

    provides dev.vmm4j.vmm.arch.LinuxArch with
            dev.vmm4j.arch.x86_64.X86_64Arch;
}
