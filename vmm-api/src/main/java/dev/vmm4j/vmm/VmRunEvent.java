// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * JFR: a VM's run, from {@link VirtualMachine#start()} to the first {@link ExitStatus}. Begun by {@code start()};
 * committed by the one thread whose status ends the VM.
 */
@Name("dev.vmm4j.VmRun")
@Label("VM Run")
@Category({"vmm4j", "VM"})
@Description("A VM's run, from start() to the exit status that ended it")
@StackTrace(false)
final class VmRunEvent extends jdk.jfr.Event {
    @Label("VM")
    @Description("The VM's name")
    String vm;

    @Label("Exit")
    @Description("Why the VM ended, as ExitStatus.description() says")
    String exitStatus;

    @Label("Clean")
    @Description("Whether the guest powered off or reset, or the host stopped it (no crash, no failure)")
    boolean clean;
}
