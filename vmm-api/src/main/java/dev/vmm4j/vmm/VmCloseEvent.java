// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** JFR: {@link VirtualMachine#close()}: the threads joined and everything released. */
@Name("dev.vmm4j.VmClose")
@Label("VM Close")
@Category({"vmm4j", "VM"})
@Description("Closing a VM: its threads joined, devices stopped and closed, vCPUs, VM and guest memory released")
@StackTrace(false)
final class VmCloseEvent extends jdk.jfr.Event {
    @Label("VM")
    @Description("The VM's name")
    String vm;
}
