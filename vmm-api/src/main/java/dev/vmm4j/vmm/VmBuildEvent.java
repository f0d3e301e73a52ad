// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** JFR: building a VM, from opening KVM to a VM ready to start (kernel loaded, devices attached). */
@Name("dev.vmm4j.VmBuild")
@Label("VM Build")
@Category({"vmm4j", "VM"})
@Description("Building a VM: KVM opened, guest memory mapped, devices attached, kernel loaded, vCPUs set up")
@StackTrace(false)
final class VmBuildEvent extends jdk.jfr.Event {
    @Label("VM")
    @Description("The VM's name")
    String vm;

    @Label("Architecture")
    String arch;

    @Label("vCPUs")
    int vcpus;

    @Label("Memory")
    @DataAmount
    long memoryBytes;

    @Label("Devices")
    @Description("Devices added with the builder's device(...)")
    int devices;

    @Label("Succeeded")
    boolean succeeded;
}
