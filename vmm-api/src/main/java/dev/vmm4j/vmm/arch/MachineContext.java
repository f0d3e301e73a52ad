// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.arch;

import dev.vmm4j.vmm.devices.DeviceContext;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.Vm;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link LinuxArch#createMachine} gets for one VM: KVM and the VM (memory registered, no vCPU yet), the number of
 * vCPUs to set up, the device context its platform devices attach through (guest memory, buses, allocator, what to
 * close), and the console streams the embedder chose.
 *
 * @param kvm the host's KVM, for what it supports
 * @param vm the VM, created for this machine
 * @param vcpuCount how many vCPUs {@link ArchMachine#boot} sets up
 * @param devices what platform devices attach through, as every other device does
 * @param console where the guest's console output goes
 * @param consoleInput where the guest's console input comes from, if anywhere
 */
public record MachineContext(
        Kvm kvm,
        Vm vm,
        int vcpuCount,
        DeviceContext devices,
        OutputStream console,
        Optional<InputStream> consoleInput) {
    /** Checks the arguments. */
    public MachineContext {
        Objects.requireNonNull(kvm, "kvm");
        Objects.requireNonNull(vm, "vm");
        Objects.requireNonNull(devices, "devices");
        Objects.requireNonNull(console, "console");
        Objects.requireNonNull(consoleInput, "consoleInput");
        if (vcpuCount < 1) {
            throw new IllegalArgumentException("a machine needs at least one vCPU, got " + vcpuCount);
        }
    }
}
