/**
 * The x86_64 side of vmm4j: the legacy PC devices a Linux guest expects on the port-I/O bus ({@code I8042},
 * {@code Cmos}), the kernel and initrd loaders, and, with the x86_64 boot issue, the {@code LinuxArch} that lays out memory, loads kernels and
 * sets up vCPUs.
 */
module dev.vmm4j.arch.x86_64 {
    requires dev.vmm4j.vmm;
    requires org.tukaani.xz;

    exports dev.vmm4j.arch.x86_64.devices;
    exports dev.vmm4j.arch.x86_64.loader;
    exports dev.vmm4j.arch.x86_64.boot;
}
