/**
 * The aarch64 LinuxArch: memory layout, Image loading, FDT, GIC and vCPU init.
 *
 * <p>Its implementation arrives with the aarch64 issue; today the module holds only its declaration.
 */
module dev.vmm4j.arch.aarch64 {
    requires dev.vmm4j.vmm;
}
