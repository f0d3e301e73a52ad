// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64;

import dev.vmm4j.arch.aarch64.kvm.ArmKvm;
import dev.vmm4j.vmm.kvm.Vcpu;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An {@link ArmKvm} that records each call as a line and answers as an aarch64 host with the given GICs would. It needs
 * no KVM at all: it makes no vCPU handles, so {@link #vcpus()} is empty.
 */
final class RecordingArmKvm implements ArmKvm {
    final List<String> calls = new ArrayList<>();
    private final boolean gicV3;
    private final boolean gicV2;
    private final int target;

    RecordingArmKvm(boolean gicV3, boolean gicV2, int target) {
        this.gicV3 = gicV3;
        this.gicV2 = gicV2;
        this.target = target;
    }

    @Override
    public synchronized boolean supportsDevice(int type) {
        calls.add("KVM_CREATE_DEVICE_TEST type " + type);
        return type == 7 ? gicV3 : type == 5 && gicV2;
    }

    @Override
    public synchronized Device createDevice(int type) {
        calls.add("KVM_CREATE_DEVICE type " + type);
        return new Device() {
            @Override
            public void setAttribute(int group, long attr, long value) {
                synchronized (RecordingArmKvm.this) {
                    calls.add(String.format(
                            Locale.ROOT, "KVM_SET_DEVICE_ATTR group %d attr %d value %#x", group, attr, value));
                }
            }

            @Override
            public void setAttribute(int group, long attr) {
                synchronized (RecordingArmKvm.this) {
                    calls.add(String.format(Locale.ROOT, "KVM_SET_DEVICE_ATTR group %d attr %d", group, attr));
                }
            }
        };
    }

    @Override
    public synchronized int preferredTarget() {
        calls.add("KVM_ARM_PREFERRED_TARGET");
        return target;
    }

    @Override
    public synchronized void createVcpu(int id) {
        calls.add("KVM_CREATE_VCPU " + id);
    }

    @Override
    public synchronized void initVcpu(int id, int target, int features) {
        calls.add(String.format(Locale.ROOT, "KVM_ARM_VCPU_INIT vcpu %d target %d features %#x", id, target, features));
    }

    @Override
    public synchronized void setRegister(int vcpu, long id, long value) {
        calls.add(String.format(Locale.ROOT, "KVM_SET_ONE_REG vcpu %d id %#x value %#x", vcpu, id, value));
    }

    @Override
    public synchronized long getRegister(int vcpu, long id) {
        calls.add(String.format(Locale.ROOT, "KVM_GET_ONE_REG vcpu %d id %#x", vcpu, id));
        return 0x8000_1234L;
    }

    @Override
    public List<Vcpu> vcpus() {
        return List.of();
    }
}
