/**
 * The aarch64 LinuxArch: memory layout, Image loading, FDT, GIC and vCPU init.
 *
 * <p>Its implementation arrives with the aarch64 issue; today the module holds only its declaration.
 */
@SuppressWarnings("module") // the name ends in digits: it is the architecture's name
module dev.vmm4j.arch.aarch64 {
    requires transitive dev.vmm4j.vmm;
}
