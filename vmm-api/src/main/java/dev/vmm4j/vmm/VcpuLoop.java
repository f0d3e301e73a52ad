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
 * One vCPU's thread: KVM_RUN, decode the exit, dispatch port I/O and MMIO to the buses, and turn the exits that end
 * a VM into an {@link ExitStatus}. Nothing here allocates on the way from one KVM_RUN to the next. Whatever a bus
 * device throws, {@link Error}s included, leaves {@link #run()}: the thread the VM runs it on ends the VM with a
 * failure that names it.
 *
 * <p><b>Thread safety:</b> runs on its own vCPU thread.
 */
final class VcpuLoop implements Runnable {
    private final Vcpu vcpu;
    private final Bus ioBus;
    private final Bus mmioBus;
    private final Consumer<ExitStatus> finish;
    private final BooleanSupplier finished;
    private final ArchMachine machine;

    VcpuLoop(
            Vcpu vcpu,
            Bus ioBus,
            Bus mmioBus,
            Consumer<ExitStatus> finish,
            BooleanSupplier finished,
            ArchMachine machine) {
        this.machine = machine;
        this.vcpu = vcpu;
        this.ioBus = ioBus;
        this.mmioBus = mmioBus;
        this.finish = finish;
        this.finished = finished;
    }

    @Override
    @SuppressWarnings("try") // the binding only has to be held while the loop runs
    public void run() {
        try (Vcpu.ThreadBinding binding = vcpu.bindToCurrentThread()) {
            while (!finished.getAsBoolean()) {
                ExitStatus status = handle(vcpu.run());
                if (status != null) {
                    finish.accept(status);
                }
            }
        }
    }

    /** {@return the status the exit ends the VM with, or null to go on} */
    private ExitStatus handle(VcpuExit exit) {
        switch (exit) {
            case VcpuExit.IoOut out -> ioBus.write(out.port(), out.data());
            case VcpuExit.IoIn in -> {
                if (!ioBus.read(in.port(), in.data())) {
                    in.data().fill((byte) 0xff); // nothing at that port: an open bus reads all ones
                }
            }
            case VcpuExit.MmioWrite write -> mmioBus.write(write.address(), write.data());
            case VcpuExit.MmioRead read -> {
                if (!mmioBus.read(read.address(), read.data())) {
                    read.data().fill((byte) 0xff);
                }
            }
            case VcpuExit.Intr intr -> {} // kicked: the loop condition says whether to stop
            case VcpuExit.Hlt hlt -> {
                return new ExitStatus.GuestPowerOff(); // without an irqchip to wake it, a halted CPU is off
            }
            case VcpuExit.Shutdown shutdown -> {
                return new ExitStatus.TripleFault(vcpu.id());
            }
            case VcpuExit.InternalError error -> {
                if (machine.assist(vcpu.id(), error)) {
                    return null; // the architecture completed what KVM could not
                }
                return new ExitStatus.InternalError(vcpu.id(), error.suberror(), rip(), error.instructionBytes());
            }
            case VcpuExit.FailEntry fail -> {
                return new ExitStatus.FailEntry(vcpu.id(), fail.hardwareEntryFailureReason());
            }
            case VcpuExit.SystemEvent event -> {
                return event.type() == LinuxHeaders.KVM_SYSTEM_EVENT_RESET()
                        ? new ExitStatus.GuestReset()
                        : event.type() == LinuxHeaders.KVM_SYSTEM_EVENT_SHUTDOWN()
                                ? new ExitStatus.GuestPowerOff()
                                : new ExitStatus.Failure(
                                        "the guest", new IllegalStateException("system event " + event.type()));
            }
            default -> {
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
