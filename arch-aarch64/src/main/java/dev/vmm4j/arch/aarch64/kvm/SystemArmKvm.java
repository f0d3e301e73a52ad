package dev.vmm4j.arch.aarch64.kvm;

import dev.vmm4j.kvm.bindings.NativeCall;
import dev.vmm4j.kvm.bindings.aarch64.Aarch64Headers;
import dev.vmm4j.kvm.bindings.aarch64.kvm_vcpu_init;
import dev.vmm4j.vmm.kvm.KvmDevice;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.Vm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** {@link ArmKvm} on /dev/kvm: the ioctls, with the structures and numbers of the generated arm64 bindings. */
public final class SystemArmKvm implements ArmKvm {
    /** The calls on this host's KVM. */
    public SystemArmKvm() {}

    @Override
    public int preferredTarget(Vm vm) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment init = arena.allocate(kvm_vcpu_init.layout());
            NativeCall.checkedIoctl("KVM_ARM_PREFERRED_TARGET", vm.fd(), Aarch64Headers.KVM_ARM_PREFERRED_TARGET(), init);
            return kvm_vcpu_init.target(init);
        }
    }

    @Override
    public void initVcpu(Vcpu vcpu, int target, int features) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment init = arena.allocate(kvm_vcpu_init.layout());
            kvm_vcpu_init.target(init, target);
            kvm_vcpu_init.features(init).set(ValueLayout.JAVA_INT, 0, features);
            NativeCall.checkedIoctl("KVM_ARM_VCPU_INIT", vcpu.fd(), Aarch64Headers.KVM_ARM_VCPU_INIT(), init);
        }
    }

    @Override
    public void setRegister(Vcpu vcpu, long id, long value) {
        vcpu.setOneReg(id, value);
    }

    @Override
    public long getRegister(Vcpu vcpu, long id) {
        return vcpu.getOneReg(id);
    }

    @Override
    public boolean supportsDevice(Vm vm, int type) {
        return vm.supportsDevice(type);
    }

    @Override
    public Device createDevice(Vm vm, int type) {
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
}
