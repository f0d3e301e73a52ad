// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.kvm.bindings.kvm_msr_list;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * The KVM subsystem, opened through {@code /dev/kvm}: what it can do, and the VMs it creates.
 *
 * <pre>{@code
 * try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm()) {
 *     kvm.requireCapability(Capability.IRQFD, "virtio interrupts");
 *     ...
 * }
 * }</pre>
 *
 * <h2>Is KVM there?</h2>
 * {@link #isAvailable()}, {@link #ensureAvailable()} and {@link #unavailabilityCause()} probe once per JVM that
 * {@code /dev/kvm} opens, speaks API version {@value #API_VERSION}, and that native access is enabled for
 * this module ({@code --enable-native-access=dev.vmm4j.kvm.bindings,dev.vmm4j.vmm}, or {@code ALL-UNNAMED} on the
 * class path).
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class Kvm implements AutoCloseable {
    /** The only KVM API version there has ever been (since Linux 2.6.22), and the one vmm4j speaks. */
    public static final int API_VERSION = 12;
    /** Where Linux puts the KVM device. */
    public static final Path DEFAULT_DEVICE = Path.of("/dev/kvm");

    private final OwnedFd fd;
    private final Path device;
    private final int vcpuMmapSize;

    private Kvm(OwnedFd fd, Path device) {
        this.fd = fd;
        this.device = device;
        int version = KvmIoctl.KVM_GET_API_VERSION.call(fd.get(), 0L, device + " is not a KVM device");
        if (version != API_VERSION) {
            throw new KvmException(
                    "KVM_GET_API_VERSION",
                    "KVM at " + device + " speaks API version " + version + ", vmm4j needs version " + API_VERSION);
        }
        this.vcpuMmapSize = KvmIoctl.KVM_GET_VCPU_MMAP_SIZE.call(fd.get(), 0L);
    }

    /**
     * Opens {@code /dev/kvm}.
     *
     * @return the open subsystem; close it when done
     * @throws KvmException if it is missing, not permitted, or not a KVM of version {@value #API_VERSION}; the
     *     message says what to do
     */
    public static Kvm open() {
        return open(DEFAULT_DEVICE);
    }

    /**
     * Opens the KVM device at {@code device}.
     *
     * @param device the path of the KVM device node, normally {@link #DEFAULT_DEVICE}
     * @return the open subsystem; close it when done
     * @throws KvmException if it is missing, not permitted, or not a KVM of version {@value #API_VERSION}; the
     *     message says what to do
     */
    public static Kvm open(Path device) {
        Objects.requireNonNull(device, "device");
        int raw;
        try {
            raw = Libc.open(device.toString(), LinuxHeaders.O_RDWR(), "");
        } catch (NativeCallException e) {
            throw new KvmException("open " + device, e.errno(), openHint(device, e.errno()));
        }
        OwnedFd fd = new OwnedFd(raw, device.toString());
        try {
            return new Kvm(fd, device);
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    static String openHint(Path device, int errno) {
        if (errno == LinuxHeaders.ENOENT() || errno == LinuxHeaders.ENODEV() || errno == LinuxHeaders.ENXIO()) {
            return device + " does not exist: this host offers no KVM (load the kvm_intel or kvm_amd module, and "
                    + "enable virtualization in the firmware, or use a machine or VM with nested virtualization)";
        }
        if (errno == LinuxHeaders.EACCES() || errno == LinuxHeaders.EPERM()) {
            return "permission denied on " + device + ": add this user to the group that owns it "
                    + "(usually kvm: sudo usermod -aG kvm $USER, then log in again) or run as a user who may open it";
        }
        return "cannot open " + device;
    }

    // ---- availability probe -------------------------------------------------------------------------------

    private static final class Probe {
        static final Throwable CAUSE = probe();

        @SuppressWarnings("try") // opening is the probe; the handle itself is not used
        private static Throwable probe() {
            Module module = Kvm.class.getModule();
            if (!module.isNativeAccessEnabled()) {
                return new IllegalCallerException("native access is not enabled for "
                        + (module.isNamed()
                                ? "module " + module.getName()
                                        + ": run with --enable-native-access=dev.vmm4j.kvm.bindings,dev.vmm4j.vmm"
                                : "the class path: run with --enable-native-access=ALL-UNNAMED"));
            }
            try (Kvm kvm = open()) {
                return null;
            } catch (RuntimeException | LinkageError e) {
                return e;
            }
        }
    }

    /** {@return whether {@code /dev/kvm} can be used by this JVM} */
    public static boolean isAvailable() {
        return Probe.CAUSE == null;
    }

    /** {@return why {@code /dev/kvm} cannot be used, if it cannot} */
    public static Optional<Throwable> unavailabilityCause() {
        return Optional.ofNullable(Probe.CAUSE);
    }

    /**
     * Checks that {@code /dev/kvm} can be used by this JVM, with the probe {@link #isAvailable()} runs.
     *
     * @throws IllegalStateException with the reason as its cause, if {@code /dev/kvm} cannot be used
     */
    public static void ensureAvailable() {
        if (Probe.CAUSE != null) {
            throw new IllegalStateException("KVM is not available: " + Probe.CAUSE.getMessage(), Probe.CAUSE);
        }
    }

    // ---- system ioctls ------------------------------------------------------------------------------------

    /** {@return the device this was opened from} */
    public Path device() {
        return device;
    }

    /** {@return the file descriptor of {@code /dev/kvm}; it stays owned by this object} */
    public int fd() {
        return fd.get();
    }

    /** {@return {@value #API_VERSION}: opening checked it} */
    public int apiVersion() {
        return KvmIoctl.KVM_GET_API_VERSION.call(fd.get(), 0L);
    }

    /**
     * {@return KVM's answer to {@code KVM_CHECK_EXTENSION}: 0 if the capability is absent, else often a count or
     * limit} Some answers differ per VM; {@link Vm#checkExtension} asks a VM.
     *
     * @param capability the capability asked about
     */
    public int checkExtension(Capability capability) {
        return checkExtension(capability.number());
    }

    /**
     * {@return KVM's answer to {@code KVM_CHECK_EXTENSION} for a raw {@code KVM_CAP_*} number} 0 for numbers this
     * KVM does not know.
     *
     * @param capability a {@code KVM_CAP_*} number, for capabilities {@link Capability} does not name
     */
    public int checkExtension(int capability) {
        return KvmIoctl.KVM_CHECK_EXTENSION.call(fd.get(), capability);
    }

    /**
     * {@return whether this host's KVM has {@code capability}} That is, whether {@link #checkExtension(Capability)}
     * answers more than 0.
     *
     * @param capability the capability asked about
     */
    public boolean hasCapability(Capability capability) {
        return checkExtension(capability) > 0;
    }

    /**
     * Checks that this host's KVM has {@code capability}, as {@link #hasCapability} answers.
     *
     * @param capability the capability that must be there
     * @param neededFor what vmm4j needs it for, ending the message (such as {@code "virtio interrupts"})
     * @throws KvmException naming the capability and {@code neededFor}, if this host's KVM lacks it
     */
    public void requireCapability(Capability capability, String neededFor) {
        if (!hasCapability(capability)) {
            throw new KvmException(
                    "KVM_CHECK_EXTENSION",
                    "KVM on this host lacks " + capability.kernelName() + ", which vmm4j needs for " + neededFor);
        }
    }

    /** {@return the size of the {@code kvm_run} area each vCPU maps} */
    public int vcpuMmapSize() {
        return vcpuMmapSize;
    }

    /** {@return the most vCPUs a VM may have ({@code KVM_CAP_MAX_VCPUS}, else {@code KVM_CAP_NR_VCPUS}, else 4)} */
    public int maxVcpus() {
        int max = checkExtension(Capability.MAX_VCPUS);
        if (max > 0) {
            return max;
        }
        int recommended = checkExtension(Capability.NR_VCPUS);
        return recommended > 0 ? recommended : 4; // the KVM API document's fallback
    }

    /** {@return the CPUID leaves KVM can give a guest ({@code KVM_GET_SUPPORTED_CPUID}); x86 only} */
    public Cpuid supportedCpuid() {
        return cpuid(KvmIoctl.KVM_GET_SUPPORTED_CPUID);
    }

    /** {@return the CPUID features KVM emulates in software ({@code KVM_GET_EMULATED_CPUID}); x86 only} */
    public Cpuid emulatedCpuid() {
        return cpuid(KvmIoctl.KVM_GET_EMULATED_CPUID);
    }

    private Cpuid cpuid(KvmIoctl ioctl) {
        return Cpuid.query(ioctl, fd.get());
    }

    /** {@return the indices of the MSRs KVM saves and restores for a guest ({@code KVM_GET_MSR_INDEX_LIST}); x86 only} */
    public int[] msrIndexList() {
        return msrList(KvmIoctl.KVM_GET_MSR_INDEX_LIST);
    }

    /** {@return the indices of the MSRs that describe host features ({@code KVM_GET_MSR_FEATURE_INDEX_LIST}); x86 only} */
    public int[] msrFeatureIndexList() {
        return msrList(KvmIoctl.KVM_GET_MSR_FEATURE_INDEX_LIST);
    }

    private int[] msrList(KvmIoctl ioctl) {
        try (Arena arena = Arena.ofConfined()) {
            // Asking with room for none makes KVM fail with E2BIG and say how many there are.
            MemorySegment probe = arena.allocate(kvm_msr_list.layout());
            int result = ioctl.raw(fd.get(), probe);
            int count = kvm_msr_list.nmsrs(probe);
            if (result >= 0 || count == 0) {
                return new int[0];
            }
            if (-result != LinuxHeaders.E2BIG()) {
                ioctl.check(result, "");
            }
            MemorySegment list = arena.allocate(kvm_msr_list.indices$offset() + 4L * count, 4);
            kvm_msr_list.nmsrs(list, count);
            ioctl.call(fd.get(), list);
            return list.asSlice(kvm_msr_list.indices$offset(), 4L * kvm_msr_list.nmsrs(list))
                    .toArray(ValueLayout.JAVA_INT);
        }
    }

    /**
     * Creates a VM of the default type (on aarch64, a 40-bit guest-physical address space).
     *
     * @return the new VM; close it when done
     * @throws KvmException if KVM cannot create it, as when the host is out of memory
     */
    public Vm createVm() {
        return createVm(0);
    }

    /**
     * Creates a VM of {@code type} (architecture-specific: on aarch64 it carries the IPA size).
     *
     * @param type the {@code KVM_CREATE_VM} argument: 0 for the default; on aarch64 the IPA size in bits in its low
     *     byte (at most {@link Capability#ARM_VM_IPA_SIZE}'s answer)
     * @return the new VM; close it when done
     * @throws KvmException if KVM cannot create it, or does not know {@code type}
     */
    public Vm createVm(long type) {
        int vmFd = KvmIoctl.KVM_CREATE_VM.call(
                fd.get(), type, "the host may be out of memory, or the VM type " + type + " is not supported");
        return new Vm(this, new OwnedFd(vmFd, "VM"));
    }

    /** Closes {@code /dev/kvm}; VMs already created stay usable until closed themselves. */
    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "Kvm[" + device + "]";
    }
}
