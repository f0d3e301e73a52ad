// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;

/**
 * JFR: one vCPU's exits from KVM_RUN by kind, since the previous event for the same vCPU (or since the vCPU started).
 * Emitted every period (one second unless the recording's settings say otherwise) for each vCPU that exited since,
 * and once more when the vCPU's thread ends, so the events of one vCPU in a recording that spans its life add up to
 * all its exits. See {@link VcpuExitCounts}.
 */
@Name("dev.vmm4j.VcpuExits")
@Label("vCPU Exits")
@Category({"vmm4j", "vCPU"})
@Description("A vCPU's exits from KVM_RUN by kind since the previous event for the same vCPU")
@Period("1 s")
@StackTrace(false)
final class VcpuExitsEvent extends jdk.jfr.Event {
    @Label("VM")
    @Description("The VM's name")
    String vm;

    @Label("vCPU")
    int vcpu;

    @Label("Port In")
    @Description("KVM_EXIT_IO reads (IN)")
    long ioIn;

    @Label("Port Out")
    @Description("KVM_EXIT_IO writes (OUT)")
    long ioOut;

    @Label("MMIO Read")
    long mmioRead;

    @Label("MMIO Write")
    long mmioWrite;

    @Label("HLT")
    long hlt;

    @Label("Interrupted")
    @Description("KVM_RUN interrupted (EINTR): a kick, or a signal")
    long intr;

    @Label("Shutdown")
    @Description("KVM_EXIT_SHUTDOWN (a triple fault)")
    long shutdown;

    @Label("Internal Error")
    @Description("KVM_EXIT_INTERNAL_ERROR, including those the architecture completed (emulator assists)")
    long internalError;

    @Label("Other")
    @Description("Any other exit: system events, failed entries, exits vmm4j does not decode")
    long other;

    @Label("Total")
    long total;
}
