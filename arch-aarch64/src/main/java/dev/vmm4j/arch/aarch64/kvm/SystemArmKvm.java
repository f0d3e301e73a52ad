// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.kvm;

import dev.vmm4j.vmm.kvm.KvmDevice;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.Vm;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** {@link ArmKvm} on one real VM: vmm-api's typed KVM calls, which name the ioctl and errno when they fail. */
public final class SystemArmKvm implements ArmKvm {
    private final Vm vm;
    private final List<Vcpu> vcpus = new ArrayList<>();

    /**
     * The calls on {@code vm}.
     *
     * @param vm the VM; the caller keeps owning it, and closing it closes the vCPUs and devices made here
     */
    public SystemArmKvm(Vm vm) {
        this.vm = Objects.requireNonNull(vm, "vm");
    }

    @Override
    public boolean supportsDevice(int type) {
        return vm.supportsDevice(type);
    }

    @Override
    public Device createDevice(int type) {
        KvmDevice device = vm.createDevice(type);
        return new Device() {
            @Override
            public void setAttribute(int group, long attr, long value) {
                device.setAttribute(group, attr, value);
            }

            @Override
            public void setAttribute(int group, long attr) {
                device.setAttribute(group, attr);
            }
        };
    }

    @Override
    public int preferredTarget() {
        return vm.armPreferredTarget();
    }

    @Override
    public synchronized void createVcpu(int id) {
        if (id != vcpus.size()) {
            throw new IllegalArgumentException(
                    "vCPUs are created in id order: expected " + vcpus.size() + ", got " + id);
        }
        vcpus.add(vm.createVcpu(id));
    }

    @Override
    public void initVcpu(int id, int target, int features) {
        vcpu(id).armInit(target, features);
    }

    @Override
    public void setRegister(int vcpu, long reg, long value) {
        vcpu(vcpu).setOneReg(reg, value);
    }

    @Override
    public long getRegister(int vcpu, long reg) {
        return vcpu(vcpu).getOneReg(reg);
    }

    @Override
    public synchronized List<Vcpu> vcpus() {
        return List.copyOf(vcpus);
    }

    private synchronized Vcpu vcpu(int id) {
        if (id < 0 || id >= vcpus.size()) {
            throw new IllegalArgumentException("this VM has no vCPU " + id);
        }
        return vcpus.get(id);
    }
}
