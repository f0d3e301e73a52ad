// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.control;

import dev.vmm4j.virtio.balloon.Balloon;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VmStatus;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/** The control socket's requests, done to a {@link VirtualMachine} and its balloon (if it has one) through their Java API. */
public final class VirtualMachineControl implements VmControl {
    private final VirtualMachine vm;
    private final Optional<? extends Balloon> balloon;

    /** Controls {@code vm}, and {@code balloon} if the VM has one. */
    public VirtualMachineControl(VirtualMachine vm, Optional<? extends Balloon> balloon) {
        this.vm = Objects.requireNonNull(vm, "vm");
        this.balloon = Objects.requireNonNull(balloon, "balloon");
    }

    @Override
    public void exit() {
        vm.stop();
    }

    @Override
    public void balloon(long bytes) {
        balloon.orElseThrow(
                        () -> new IllegalStateException("this VM has no balloon (it was started with --no-balloon)"))
                .setTargetBytes(bytes);
    }

    @Override
    public String status() {
        VmStatus status = vm.status();
        StringBuilder fields = new StringBuilder(String.format(
                Locale.ROOT,
                "state=%s memory=%d vcpus=%d",
                status.state().name().toLowerCase(Locale.ROOT),
                status.memoryBytes(),
                status.vcpus()));
        balloon.ifPresent(device -> fields.append(" balloon_target=")
                .append(device.targetBytes())
                .append(" balloon_actual=")
                .append(device.actualBytes()));
        return fields.toString();
    }
}
