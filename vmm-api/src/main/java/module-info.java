// SPDX-License-Identifier: Apache-2.0
/**
 * vmm4j's core: typed KVM ({@link dev.vmm4j.vmm.kvm.Kvm}, {@link dev.vmm4j.vmm.kvm.Vm},
 * {@link dev.vmm4j.vmm.kvm.Vcpu}, {@link dev.vmm4j.vmm.kvm.VcpuExit}) and the pieces a VMM is built from.
 *
 * <p>Run with {@code --enable-native-access=dev.vmm4j.kvm.bindings,dev.vmm4j.vmm} (or {@code ALL-UNNAMED}
 * on the class path); without it the JVM warns on the first native call, and refuses it under
 * {@code --illegal-native-access=deny}.
 */
module dev.vmm4j.vmm {
    requires transitive dev.vmm4j.kvm.bindings;
    requires jdk.jfr;

    uses dev.vmm4j.vmm.arch.LinuxArch;

    exports dev.vmm4j.vmm;
    exports dev.vmm4j.vmm.arch;
    exports dev.vmm4j.vmm.kvm;
    exports dev.vmm4j.vmm.event;
    exports dev.vmm4j.vmm.memory;
    exports dev.vmm4j.vmm.bus;
    exports dev.vmm4j.vmm.resources;
    exports dev.vmm4j.vmm.boot;
    exports dev.vmm4j.vmm.devices;
    exports dev.vmm4j.vmm.jail;
    // Thin libc wrappers (pread/pwrite into guest memory, fsync, flock, owned fds) for modules built on vmm-api: low
    // level, and with the duties their Javadoc states.
    exports dev.vmm4j.vmm.sys;
}
