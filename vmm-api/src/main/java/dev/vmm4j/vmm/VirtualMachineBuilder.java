// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import dev.vmm4j.vmm.arch.BootSpec;
import dev.vmm4j.vmm.arch.DeviceAnnouncement;
import dev.vmm4j.vmm.arch.LinuxArch;
import dev.vmm4j.vmm.bus.BusDevice;
import dev.vmm4j.vmm.devices.VmDevice;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import dev.vmm4j.vmm.kvm.CpuidEntry;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.StringJoiner;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/**
 * Configures a {@link VirtualMachine}.
 *
 * <h2>Rules</h2>
 * <ul>
 *   <li>Each setter checks its argument at once: a bad value throws {@link IllegalArgumentException}, a null one
 *       {@link NullPointerException}.
 *   <li>An option with one value ({@link #name}, {@link #memory}, {@link #vcpus}, {@link #kernel}, {@link #initrd}, {@link #cmdline},
 *       {@link #serial}, {@link #serialInput}, {@link #arch}, {@link #cpuid}, {@link #hostDecompression},
 *       {@link #deviceAnnouncement}) may be set
 *       once: a second call throws {@link IllegalStateException} naming the value set first. Options that add
 *       ({@link #device}, {@link #ioDevice}, {@link #mmioDevice}) add in the order called.
 *   <li>{@link #build()} checks the whole configuration before it opens KVM, and reports every problem it finds, and
 *       any failure after that, as one {@link VmBuildException}.
 *   <li>A builder builds one VM: a second {@link #build()} throws {@link VmBuildException}. It is single-use because
 *       the devices given to it become the VM's (see below).
 * </ul>
 *
 * <h2>Ownership of devices</h2>
 * A {@link VmDevice} given to {@link #device} belongs to the builder from then on, and to the VM it builds: the VM
 * closes it when it is closed; a {@link #build()} that fails closes every device it was given before it throws. The
 * caller never closes a device it added. Bus devices given to {@link #ioDevice} and {@link #mmioDevice}, and streams
 * given to {@link #serial} and {@link #serialInput}, stay the caller's. Adding a device after {@link #build()} throws
 * {@link IllegalStateException}: it would reach no VM.
 *
 * <p><b>Thread safety:</b> not thread-safe.
 */
public final class VirtualMachineBuilder {
    /** Below this no Linux kernel starts. */
    static final long MIN_MEMORY = 16L << 20;
    /** crosvm's default. */
    static final long DEFAULT_MEMORY = 256L << 20;

    private static final long PAGE = 4096;

    /** A device the embedder puts at a fixed place on one of the buses. */
    record BusPlacement(BusDevice device, long base, long length, boolean io) {}

    /** What {@link VirtualMachine#create} builds from: the builder's values, checked, with defaults filled in. */
    record Config(
            String name,
            long memoryBytes,
            int vcpus,
            BootSpec bootSpec,
            OutputStream serialOutput,
            Optional<InputStream> serialInput,
            Optional<LinuxArch> arch,
            List<BusPlacement> busDevices,
            List<VmDevice> devices,
            Optional<DeviceSandbox> sandbox) {}

    /** Numbers the VMs that get no name of their own: {@code vm-1}, {@code vm-2}, ... */
    private static final AtomicLong UNNAMED = new AtomicLong();

    private String name;
    private Long memoryBytes;
    private Integer vcpus;
    private Path kernel;
    private Path initrd;
    private String commandLine;
    private OutputStream serialOutput;
    private InputStream serialInput;
    private LinuxArch arch;
    private UnaryOperator<CpuidEntry> cpuid;
    private Boolean hostDecompression;
    private DeviceAnnouncement deviceAnnouncement;
    private DeviceSandbox sandbox;
    private final List<BusPlacement> busDevices = new ArrayList<>();
    private final List<VmDevice> devices = new ArrayList<>();
    private boolean built;

    VirtualMachineBuilder() {}

    /**
     * {@return {@code mib} MiB in bytes, for {@link #memory(long)}}
     *
     * @param mib a number of mebibytes, 0 to {@code 2^43 - 1} (the most whose bytes fit in a {@code long})
     * @throws IllegalArgumentException if it is negative or so large that its bytes overflow a {@code long}
     */
    public static long MiB(long mib) {
        if (mib < 0 || mib > Long.MAX_VALUE >> 20) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT, "%d MiB is not a memory size: it must be 0 to %d MiB", mib, Long.MAX_VALUE >> 20));
        }
        return mib << 20;
    }

    private static void requireUnset(Object current, String option) {
        if (current != null) {
            throw new IllegalStateException(option + " was already set to " + current);
        }
    }

    /**
     * The VM's name, for logs and for the JFR events it records (see {@link VirtualMachine#name()}): 1 to 64
     * characters, none of them a control character. Default: {@code vm-N}, N counting the VMs built without a name.
     *
     * @param name the name, kept as given (not stripped)
     * @return this
     * @throws IllegalArgumentException if it is empty, longer than 64 characters, or holds a control character
     */
    public VirtualMachineBuilder name(String name) {
        Objects.requireNonNull(name, "name");
        requireUnset(this.name, "name");
        if (name.isEmpty() || name.length() > 64 || name.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException(
                    "a VM name is 1 to 64 characters without control characters, got \"" + name + "\"");
        }
        this.name = name;
        return this;
    }

    /**
     * Guest RAM in bytes: a multiple of 4 KiB, at least 16 MiB. Default: 256 MiB.
     *
     * @param bytes the size in bytes, such as {@code MiB(512)}; whether the host can back it is found at
     *     {@link #build()}
     * @return this
     * @throws IllegalArgumentException if it is below 16 MiB or not a multiple of 4 KiB
     */
    public VirtualMachineBuilder memory(long bytes) {
        requireUnset(memoryBytes, "memory");
        if (bytes < MIN_MEMORY || bytes % PAGE != 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "memory must be a multiple of 4 KiB and at least %d MiB, got %d bytes",
                    MIN_MEMORY >> 20,
                    bytes));
        }
        this.memoryBytes = bytes;
        return this;
    }

    /**
     * The number of vCPUs, at least 1 (and at most what KVM allows, checked by {@link #build()}). Default: 1.
     *
     * @param count how many vCPUs; they get ids 0 to {@code count - 1}
     * @return this
     * @throws IllegalArgumentException if it is below 1
     */
    public VirtualMachineBuilder vcpus(int count) {
        requireUnset(vcpus, "vcpus");
        if (count < 1) {
            throw new IllegalArgumentException("a VM needs at least one vCPU, got " + count);
        }
        this.vcpus = count;
        return this;
    }

    /**
     * The kernel: an ELF vmlinux or a bzImage on x86_64, an {@code Image} on aarch64. Required.
     *
     * @param file the kernel's path; that it is a readable file is checked by {@link #build()}, which reads it then
     * @return this
     */
    public VirtualMachineBuilder kernel(Path file) {
        Objects.requireNonNull(file, "file");
        requireUnset(kernel, "kernel");
        this.kernel = file;
        return this;
    }

    /**
     * An initial ramdisk for the kernel. Default: none.
     *
     * @param file the initrd's path; that it is a readable file is checked by {@link #build()}, which copies it into
     *     guest memory as it is
     * @return this
     */
    public VirtualMachineBuilder initrd(Path file) {
        Objects.requireNonNull(file, "file");
        requireUnset(initrd, "initrd");
        this.initrd = file;
        return this;
    }

    /**
     * Kernel command-line parameters, after the architecture's own (such as {@code console=ttyS0}) and those that
     * announce devices. Default: none.
     *
     * @param parameters space-separated parameters, kept without leading and trailing white space; the architecture
     *     checks the whole line's length when it boots
     * @return this
     */
    public VirtualMachineBuilder cmdline(String parameters) {
        Objects.requireNonNull(parameters, "parameters");
        requireUnset(commandLine == null ? null : "\"" + commandLine + "\"", "cmdline");
        this.commandLine = parameters.strip();
        return this;
    }

    /**
     * Where the serial console's output goes; the stream stays the caller's. Default: {@link System#out}.
     *
     * @param output gets the guest's console bytes as they come; never closed by the VM
     * @return this
     */
    public VirtualMachineBuilder serial(OutputStream output) {
        Objects.requireNonNull(output, "output");
        requireUnset(serialOutput, "serial");
        this.serialOutput = output;
        return this;
    }

    /**
     * Where the serial console's input comes from; the stream stays the caller's. Default: none.
     *
     * @param input read from by a thread of the VM, its bytes passed to the guest; never closed by the VM
     * @return this
     */
    public VirtualMachineBuilder serialInput(InputStream input) {
        Objects.requireNonNull(input, "input");
        requireUnset(serialInput, "serialInput");
        this.serialInput = input;
        return this;
    }

    /**
     * The architecture, instead of the one {@link java.util.ServiceLoader} finds for this host.
     *
     * @param architecture the architecture to boot with; whether it suits this host is not checked here
     * @return this
     */
    public VirtualMachineBuilder arch(LinuxArch architecture) {
        Objects.requireNonNull(architecture, "architecture");
        requireUnset(arch == null ? null : arch.name(), "arch");
        this.arch = architecture;
        return this;
    }

    /**
     * Changes the CPUID each vCPU sees, leaf by leaf, after the architecture's own filtering (x86 only).
     *
     * @param customiser called with each entry of each vCPU's table when the vCPUs are set up, and returns the entry
     *     to use in its place; ignored on aarch64
     * @return this
     */
    public VirtualMachineBuilder cpuid(UnaryOperator<CpuidEntry> customiser) {
        Objects.requireNonNull(customiser, "customiser");
        requireUnset(cpuid, "cpuid");
        this.cpuid = customiser;
        return this;
    }

    /**
     * Whether a compressed kernel (bzImage) is decompressed on the host, so the guest skips its decompressor.
     * Default: true.
     *
     * @param enabled false to load a bzImage as it is and let the guest decompress itself
     * @return this
     */
    public VirtualMachineBuilder hostDecompression(boolean enabled) {
        requireUnset(hostDecompression, "hostDecompression");
        this.hostDecompression = enabled;
        return this;
    }

    /**
     * How the guest kernel learns of the devices: {@link DeviceAnnouncement#FIRMWARE} (the default: ACPI tables on
     * x86_64, the device tree on aarch64) or {@link DeviceAnnouncement#KERNEL_COMMAND_LINE} (Linux's
     * {@code virtio_mmio.device=} parameters, for kernels without ACPI).
     *
     * @param announcement how devices are announced; {@link #build()} reports {@code KERNEL_COMMAND_LINE} as a problem
     *     on aarch64, where only the device tree announces them
     * @return this
     */
    public VirtualMachineBuilder deviceAnnouncement(DeviceAnnouncement announcement) {
        Objects.requireNonNull(announcement, "announcement");
        requireUnset(deviceAnnouncement, "deviceAnnouncement");
        this.deviceAnnouncement = announcement;
        return this;
    }

    /**
     * Adds {@code device} at ports {@code [port, port + length)} of the I/O bus (x86). The device stays the caller's:
     * the VM never closes a bus device (see {@link #device} for devices the VM owns).
     *
     * @param device gets the accesses to the range, at offsets from {@code port}
     * @param port the first port, 0 to 0xffff
     * @param length the number of ports, at least 1; an overlap with another device is found by {@link #build()}
     * @return this
     * @throws IllegalArgumentException if the range is empty or not within ports 0 to 0xffff
     */
    public VirtualMachineBuilder ioDevice(BusDevice device, long port, long length) {
        Objects.requireNonNull(device, "device");
        if (length <= 0 || port < 0 || port > 0x10000 || length > 0x10000 - port) { // port + length could overflow
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "device %s at ports %#x+%#x must have a length and lie within 0..0xffff",
                    device,
                    port,
                    length));
        }
        requireNotBuilt();
        busDevices.add(new BusPlacement(device, port, length, true));
        return this;
    }

    /**
     * Adds {@code device} at guest-physical {@code [address, address + length)} of the MMIO bus, which must not overlap
     * the architecture's device windows (on x86, from 0xd0000000; on aarch64, from 0x01010000). The device stays the
     * caller's: the VM never closes a bus device.
     *
     * @param device gets the accesses to the range, at offsets from {@code address}
     * @param address the range's first guest-physical address, taken as unsigned
     * @param length the range's size in bytes, at least 1; an overlap with another device is found by {@link #build()}
     * @return this
     * @throws IllegalArgumentException if the range is empty or runs past the end of the address space
     */
    public VirtualMachineBuilder mmioDevice(BusDevice device, long address, long length) {
        Objects.requireNonNull(device, "device");
        if (length <= 0 || Long.compareUnsigned(address + length - 1, address) < 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "device %s at %#x+%#x must have a length and lie within the address space",
                    device,
                    address,
                    length));
        }
        requireNotBuilt();
        busDevices.add(new BusPlacement(device, address, length, false));
        return this;
    }

    private void requireNotBuilt() {
        if (built) {
            throw new IllegalStateException("this builder already built its VM; a device added now would reach no VM");
        }
    }

    /**
     * Adds a device that attaches itself (see {@link VmDevice}), such as {@code VirtioDevices.disk(path)} or
     * {@code VirtioMmio.of(new MyDevice())}. Devices attach, and appear to the guest, in the order they are added.
     * The device belongs to the builder from now on (see the class comment).
     *
     * @param device the device; {@link #build()} checks its configuration, then attaches it
     * @return this
     * @throws IllegalStateException if this builder has already built its VM
     */
    public VirtualMachineBuilder device(VmDevice device) {
        Objects.requireNonNull(device, "device");
        requireNotBuilt();
        devices.add(device);
        return this;
    }

    /**
     * Runs each device that can run in a process of its own there, jailed as {@code sandbox} says (crosvm's sandbox;
     * see {@link DeviceSandbox}). Guest memory is then a sealed memfd the device processes map. Devices that cannot run
     * in another process (a vsock device with a {@code VsockHost}, whose channels live in this JVM; vhost devices,
     * whose data path is the kernel's) stay in this one, and the VM's log says so. Without it, every device runs in
     * this process.
     *
     * @param sandbox how the device processes are jailed; whether the host can jail them is checked by {@link #build()}
     *     when there are devices
     * @return this
     */
    public VirtualMachineBuilder sandbox(DeviceSandbox sandbox) {
        Objects.requireNonNull(sandbox, "sandbox");
        requireUnset(this.sandbox, "sandbox");
        this.sandbox = sandbox;
        return this;
    }

    /**
     * Checks the configuration, opens KVM, and sets the VM up (memory, platform and other devices, kernel, vCPUs)
     * without starting it. The VM owns the devices from now on.
     *
     * @return the VM, set up but not started; the caller closes it
     * @throws VmBuildException listing every problem with the configuration, or with the failure that stopped the
     *     build as its cause (KVM refused a call, a kernel or image could not be loaded or locked); the devices were
     *     closed and nothing is left open
     */
    public VirtualMachine build() {
        if (built) {
            throw new VmBuildException(List.of("this builder already built a VM; builders are single-use, because the"
                    + " devices given to them become the VM's"));
        }
        built = true;
        List<String> problems = new ArrayList<>();
        if (kernel == null) {
            problems.add("no kernel: call kernel(path)");
        } else if (!Files.isRegularFile(kernel) || !Files.isReadable(kernel)) {
            problems.add("kernel " + kernel + " is not a readable file");
        }
        if (initrd != null && (!Files.isRegularFile(initrd) || !Files.isReadable(initrd))) {
            problems.add("initrd " + initrd + " is not a readable file");
        }
        for (VmDevice device : devices) {
            try {
                problems.addAll(device.checkConfiguration());
            } catch (RuntimeException e) {
                problems.add(device + " cannot check its configuration: " + e.getMessage());
            }
        }
        BootSpec spec = new BootSpec(
                kernel == null ? Path.of("") : kernel,
                Optional.ofNullable(initrd),
                commandLine == null ? "" : commandLine,
                hostDecompression == null || hostDecompression,
                cpuid == null ? UnaryOperator.identity() : cpuid,
                deviceAnnouncement == null ? DeviceAnnouncement.FIRMWARE : deviceAnnouncement);
        try {
            problems.addAll((arch != null ? arch : VirtualMachine.hostArch()).checkBootSpec(spec));
        } catch (IllegalStateException e) {
            // No architecture for this host: creating the VM says so, with what to put on the path.
        }
        if (sandbox != null && !devices.isEmpty()) { // no device, nothing to jail: the check costs a process
            problems.addAll(sandbox.problems());
        }
        if (!problems.isEmpty()) {
            devices.forEach(VirtualMachine::closeQuietly);
            throw new VmBuildException(problems);
        }
        return VirtualMachine.create(new Config(
                name == null ? "vm-" + UNNAMED.incrementAndGet() : name,
                memoryBytes == null ? DEFAULT_MEMORY : memoryBytes,
                vcpus == null ? 1 : vcpus,
                spec,
                serialOutput == null ? System.out : serialOutput,
                Optional.ofNullable(serialInput),
                Optional.ofNullable(arch),
                List.copyOf(busDevices),
                List.copyOf(devices),
                Optional.ofNullable(sandbox)));
    }

    /** {@return the options that were set, and the devices in order} */
    @Override
    public String toString() {
        StringJoiner set = new StringJoiner(", ", "VirtualMachineBuilder[", "]");
        if (name != null) {
            set.add("name=" + name);
        }
        if (memoryBytes != null) {
            set.add("memory=" + (memoryBytes >> 20) + " MiB");
        }
        if (vcpus != null) {
            set.add("vcpus=" + vcpus);
        }
        if (kernel != null) {
            set.add("kernel=" + kernel);
        }
        if (initrd != null) {
            set.add("initrd=" + initrd);
        }
        if (commandLine != null) {
            set.add("cmdline=\"" + commandLine + "\"");
        }
        if (serialOutput != null) {
            set.add("serial="
                    + (serialOutput instanceof PrintStream
                            ? "print stream"
                            : serialOutput.getClass().getSimpleName()));
        }
        if (serialInput != null) {
            set.add("serialInput");
        }
        if (arch != null) {
            set.add("arch=" + arch.name());
        }
        if (cpuid != null) {
            set.add("cpuid customised");
        }
        if (hostDecompression != null) {
            set.add("hostDecompression=" + hostDecompression);
        }
        if (deviceAnnouncement != null) {
            set.add("deviceAnnouncement=" + deviceAnnouncement);
        }
        if (sandbox != null) {
            set.add("sandbox=" + sandbox);
        }
        if (!busDevices.isEmpty()) {
            set.add(busDevices.size() + " bus devices");
        }
        for (VmDevice device : devices) {
            set.add("device=" + device);
        }
        return set.toString();
    }
}
