/**
 * aarch64 Linux on KVM, as crosvm boots it. So far the pieces that need no aarch64 host: the guest-physical layout
 * ({@link dev.vmm4j.arch.aarch64.boot.AArch64Layout}), the flattened device tree writer
 * ({@link dev.vmm4j.arch.aarch64.fdt.FdtWriter}) and crosvm's tree ({@link dev.vmm4j.arch.aarch64.boot.DeviceTree}),
 * and the arm64 {@code Image} header ({@link dev.vmm4j.arch.aarch64.loader.ArmImage}). The {@code LinuxArch} itself
 * (vCPU init, PSCI, the vGIC through KVM_CREATE_DEVICE) is not written yet, so this module provides none.
 */
module dev.vmm4j.arch.aarch64 {
    requires transitive dev.vmm4j.vmm;

    exports dev.vmm4j.arch.aarch64.boot;
    exports dev.vmm4j.arch.aarch64.fdt;
    exports dev.vmm4j.arch.aarch64.loader;
}
