// SPDX-License-Identifier: Apache-2.0
/**
 * simple-vmm: crosvm's run_config and run_control flow as a command-line program on vmm4j ({@code ./simple-vmm}), with
 * its control socket ({@link dev.vmm4j.examples.control}) and the demo guest it boots without a kernel.
 */
module dev.vmm4j.examples {
    requires transitive dev.vmm4j.vmm;
    requires dev.vmm4j.virtio;
    requires dev.vmm4j.guests;
    requires java.logging;

    exports dev.vmm4j.examples.control;
}
