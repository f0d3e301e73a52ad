// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.vmm.arch.ArchMachine;
import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.VcpuExit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * One vCPU's thread: KVM_RUN, decode the exit, dispatch port I/O (one bus access per item of a string instruction,
 * see {@link PortIo}) and MMIO to the buses, and turn the exits that end
 * a VM into an {@link ExitStatus}, counting each exit by kind ({@link VcpuExitCounts}, reported to JFR). Nothing here
 * allocates on the way from one KVM_RUN to the next. Whatever a bus
 * device throws, {@link Error}s included, leaves {@link #run()}: the thread the VM runs it on ends the VM with a
 * failure that names it.
 *
 * <p><b>Thread safety:</b> runs on its own vCPU thread.
 */
final class VcpuLoop implements Runnable {
    private final Vcpu vcpu;
    private final PortIo portIo;
    private final Bus mmioBus;
    private final Consumer<ExitStatus> finish;
    private final BooleanSupplier finished;
    private final ArchMachine machine;
    private final VcpuExitCounts exits;
    /** Begun by the starting thread, committed by this one before its first KVM_RUN; null when JFR does not record it. */
    private VcpuStartEvent startEvent;

    VcpuLoop(
            Vcpu vcpu,
            Bus ioBus,
            Bus mmioBus,
            Consumer<ExitStatus> finish,
            BooleanSupplier finished,
            ArchMachine machine,
            VcpuExitCounts exits,
            VcpuStartEvent startEvent) {
        this.machine = machine;
        this.exits = exits;
        this.startEvent = startEvent;
        this.vcpu = vcpu;
        this.portIo = new PortIo(ioBus);
        this.mmioBus = mmioBus;
        this.finish = finish;
        this.finished = finished;
    }

    @Override
    @SuppressWarnings("try") // the binding only has to be held while the loop runs
    public void run() {
        VcpuExitReporter.register(exits);
        try (Vcpu.ThreadBinding binding = vcpu.bindToCurrentThread()) {
            if (startEvent != null) {
                startEvent.commit(); // the first KVM_RUN follows
                startEvent = null;
            }
            while (!finished.getAsBoolean()) {
                ExitStatus status = handle(vcpu.run());
                if (status != null) {
                    finish.accept(status);
                }
            }
        } finally {
            VcpuExitReporter.forget(exits);
        }
    }

    /** {@return the status the exit ends the VM with, or null to go on} */
    private ExitStatus handle(VcpuExit exit) {
        switch (exit) {
            case VcpuExit.IoOut out -> {
                exits.count(VcpuExitCounts.IO_OUT);
                portIo.out(out);
            }
            case VcpuExit.IoIn in -> {
                exits.count(VcpuExitCounts.IO_IN);
                portIo.in(in);
            }
            case VcpuExit.MmioWrite write -> {
                exits.count(VcpuExitCounts.MMIO_WRITE);
                mmioBus.write(write.address(), write.data());
            }
            case VcpuExit.MmioRead read -> {
                exits.count(VcpuExitCounts.MMIO_READ);
                if (!mmioBus.read(read.address(), read.data())) {
                    read.data().fill((byte) 0xff);
                }
            }
            case VcpuExit.Intr intr ->
                exits.count(VcpuExitCounts.INTR); // kicked: the loop condition says whether to stop
            case VcpuExit.Hlt hlt -> {
                exits.count(VcpuExitCounts.HLT);
                return new ExitStatus.GuestPowerOff(); // without an irqchip to wake it, a halted CPU is off
            }
            case VcpuExit.Shutdown shutdown -> {
                exits.count(VcpuExitCounts.SHUTDOWN);
                return new ExitStatus.TripleFault(vcpu.id());
            }
            case VcpuExit.InternalError error -> {
                exits.count(VcpuExitCounts.INTERNAL_ERROR);
                if (machine.assist(vcpu.id(), error)) {
                    return null; // the architecture completed what KVM could not
                }
                return new ExitStatus.InternalError(vcpu.id(), error.suberror(), rip(), error.instructionBytes());
            }
            case VcpuExit.FailEntry fail -> {
                exits.count(VcpuExitCounts.OTHER);
                return new ExitStatus.FailEntry(vcpu.id(), fail.hardwareEntryFailureReason());
            }
            case VcpuExit.SystemEvent event -> {
                exits.count(VcpuExitCounts.OTHER);
                return event.type() == LinuxHeaders.KVM_SYSTEM_EVENT_RESET()
                        ? new ExitStatus.GuestReset()
                        : event.type() == LinuxHeaders.KVM_SYSTEM_EVENT_SHUTDOWN()
                                ? new ExitStatus.GuestPowerOff()
                                : new ExitStatus.Failure(
                                        "the guest", new IllegalStateException("system event " + event.type()));
            }
            default -> {
                exits.count(VcpuExitCounts.OTHER);
                return new ExitStatus.Failure(
                        "vcpu-" + vcpu.id(), new IllegalStateException("unexpected exit " + exit));
            }
        }
        return null;
    }

    private long rip() {
        try {
            return machine.programCounter(vcpu.id());
        } catch (RuntimeException e) {
            return -1; // the report goes on without it
        }
    }
}
