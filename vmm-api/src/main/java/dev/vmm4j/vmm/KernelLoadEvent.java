// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** JFR: the architecture's boot step while a VM is built (see {@link dev.vmm4j.vmm.arch.ArchMachine#boot}). */
@Name("dev.vmm4j.KernelLoad")
@Label("Kernel Load")
@Category({"vmm4j", "VM"})
@Description("The architecture loads the kernel (and initrd), writes the boot structures and sets the vCPUs' registers")
@StackTrace(false)
final class KernelLoadEvent extends jdk.jfr.Event {
    @Label("VM")
    @Description("The VM's name")
    String vm;

    @Label("Kernel")
    @Description("The kernel file")
    String kernel;

    @Label("Command Line")
    @Description("The kernel command line as the architecture completed it")
    String commandLine;
}
