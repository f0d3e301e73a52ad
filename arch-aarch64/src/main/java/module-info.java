// SPDX-License-Identifier: Apache-2.0
/**
 * aarch64 Linux on KVM, as crosvm boots it ({@link dev.vmm4j.arch.aarch64.AArch64Arch}, found by ServiceLoader on
 * aarch64 hosts): the guest-physical layout, the arm64 {@code Image} loader, a flattened device tree writer and
 * crosvm's tree, the in-kernel GIC, PSCI vCPU start-up, a 16550 UART and a PL031 RTC.
 */
@SuppressWarnings("module") // the name ends in digits: it is the architecture's name
module dev.vmm4j.arch.aarch64 {
    requires transitive dev.vmm4j.vmm;

    exports dev.vmm4j.arch.aarch64;
    exports dev.vmm4j.arch.aarch64.boot;
    exports dev.vmm4j.arch.aarch64.devices;
    exports dev.vmm4j.arch.aarch64.fdt;
    exports dev.vmm4j.arch.aarch64.kvm;
    exports dev.vmm4j.arch.aarch64.loader;

    provides dev.vmm4j.vmm.arch.LinuxArch with
            dev.vmm4j.arch.aarch64.AArch64Arch;
}
