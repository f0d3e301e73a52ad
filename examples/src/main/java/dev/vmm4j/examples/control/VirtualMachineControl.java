package dev.vmm4j.examples.control;

import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VmStatus;
import java.util.Locale;
import java.util.Objects;

/** The control socket's requests, done to a {@link VirtualMachine} through its Java API. */
public final class VirtualMachineControl implements VmControl {
    private final VirtualMachine vm;

    /** Controls {@code vm}. */
    public VirtualMachineControl(VirtualMachine vm) {
        this.vm = Objects.requireNonNull(vm, "vm");
    }

    @Override
    public void exit() {
        vm.stop();
    }

    @Override
    public void balloon(long bytes) {
        vm.balloon().orElseThrow(() -> new IllegalStateException("this VM has no balloon (it was started with --no-balloon)"))
                .setTargetBytes(bytes);
    }

    @Override
    public String status() {
        VmStatus status = vm.status();
        StringBuilder fields = new StringBuilder(String.format(Locale.ROOT, "state=%s memory=%d vcpus=%d",
                status.state().name().toLowerCase(Locale.ROOT), status.memoryBytes(), status.vcpus()));
        status.balloonTargetBytes().ifPresent(bytes -> fields.append(" balloon_target=").append(bytes));
        status.balloonActualBytes().ifPresent(bytes -> fields.append(" balloon_actual=").append(bytes));
        return fields.toString();
    }
}
