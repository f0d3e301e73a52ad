/**
 * The x86_64 LinuxArch: memory layout, kernel loading, boot structures, vCPU setup, irqchip, serial and i8042.
 *
 * <p>Its implementation arrives with the x86_64 boot issue; today the module holds only its declaration.
 */
module dev.vmm4j.arch.x86_64 {
    requires dev.vmm4j.vmm;
}
