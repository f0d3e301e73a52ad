/**
 * vmm4j's core: typed KVM ({@link dev.vmm4j.vmm.kvm.Kvm}, {@link dev.vmm4j.vmm.kvm.Vm},
 * {@link dev.vmm4j.vmm.kvm.Vcpu}, {@link dev.vmm4j.vmm.kvm.VcpuExit}) and the pieces a VMM is built from.
 *
 * <p>Run with {@code --enable-native-access=dev.vmm4j.kvm.bindings,dev.vmm4j.vmm} (or {@code ALL-UNNAMED}
 * on the class path); without it the JVM warns on the first native call, and refuses it under
 * {@code --illegal-native-access=deny}.
 */
@SuppressWarnings("module") // the qualified exports name modules built after this one
module dev.vmm4j.vmm {
    requires transitive dev.vmm4j.kvm.bindings;

    uses dev.vmm4j.vmm.LinuxArch;
    uses dev.vmm4j.vmm.StandardDevices;

    exports dev.vmm4j.vmm;
    exports dev.vmm4j.vmm.kvm;
    exports dev.vmm4j.vmm.event;
    exports dev.vmm4j.vmm.memory;
    exports dev.vmm4j.vmm.bus;
    exports dev.vmm4j.vmm.resources;
    exports dev.vmm4j.vmm.boot;
    exports dev.vmm4j.vmm.devices;
    // Thin libc wrappers for vmm4j's own modules; not API.
    exports dev.vmm4j.vmm.sys to dev.vmm4j.virtio, dev.vmm4j.arch.x86_64, dev.vmm4j.arch.aarch64,
            dev.vmm4j.examples, dev.vmm4j.benchmarks;
}
