/**
 * SimpleVmm, crosvm's run_config flow as a command-line program, and the demo guest it boots.
 *
 * <p>Its program arrives with the SimpleVmm issue; today the module holds only its declaration.
 */
module dev.vmm4j.examples {
    requires transitive dev.vmm4j.vmm;
}
