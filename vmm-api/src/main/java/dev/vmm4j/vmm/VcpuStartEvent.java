// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * JFR: one vCPU's start, from {@link VirtualMachine#start()} making its thread to that thread's first KVM_RUN. Begun
 * on the starting thread, handed to the vCPU's thread with {@link Thread#start()} and committed there: one owner at a
 * time.
 */
@Name("dev.vmm4j.VcpuStart")
@Label("vCPU Start")
@Category({"vmm4j", "VM"})
@Description("A vCPU's thread, from its creation to its first KVM_RUN")
@StackTrace(false)
final class VcpuStartEvent extends jdk.jfr.Event {
    @Label("VM")
    @Description("The VM's name")
    String vm;

    @Label("vCPU")
    int vcpu;
}
