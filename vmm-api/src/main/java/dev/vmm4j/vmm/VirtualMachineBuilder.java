package dev.vmm4j.vmm;

import dev.vmm4j.vmm.bus.BusDevice;
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
import java.util.ServiceLoader;
import java.util.StringJoiner;
import java.util.function.UnaryOperator;

/**
 * Configures a {@link VirtualMachine}. Each setter checks its value at once; {@link #build()} checks the whole
 * configuration, reporting every problem in one message, before it touches KVM.
 *
 * <p><b>Thread safety:</b> not thread-safe.
 */
public final class VirtualMachineBuilder {
    /** Below this no Linux kernel starts. */
    static final long MIN_MEMORY = 16L << 20;
    private static final long PAGE = 4096;

    /** A device the embedder adds at a place on one of the buses. */
    record ExtraDevice(BusDevice device, long base, long length, boolean io) {}

    /** A device added by kind, made by the {@link StandardDevices} service at {@link #build()}. */
    private sealed interface DeviceRequest {
        VmDevice create(StandardDevices standard);
    }

    private record Given(VmDevice device) implements DeviceRequest {
        @Override
        public VmDevice create(StandardDevices standard) {
            return device;
        }
    }

    private record Disk(Path image, boolean readOnly) implements DeviceRequest {
        @Override
        public VmDevice create(StandardDevices standard) {
            return standard.disk(image, readOnly);
        }
    }

    private record Rng() implements DeviceRequest {
        @Override
        public VmDevice create(StandardDevices standard) {
            return standard.rng();
        }
    }

    private record BalloonRequest() implements DeviceRequest {
        @Override
        public VmDevice create(StandardDevices standard) {
            return standard.balloon();
        }
    }

    private long memoryBytes = -1;
    private int vcpus = 1;
    private Path kernel;
    private Path initrd;
    private String commandLine = "";
    private OutputStream serialOutput = System.out;
    private InputStream serialInput;
    private LinuxArch arch;
    private UnaryOperator<CpuidEntry> cpuid = UnaryOperator.identity();
    private boolean hostDecompression = true;
    private final List<ExtraDevice> devices = new ArrayList<>();
    private final List<DeviceRequest> vmDevices = new ArrayList<>();

    VirtualMachineBuilder() {}

    /** {@return {@code mib} MiB in bytes, for {@link #memory(long)}} */
    public static long MiB(long mib) {
        return mib << 20;
    }

    /** Guest RAM in bytes: a multiple of 4 KiB, at least 16 MiB. Default: 256 MiB. */
    public VirtualMachineBuilder memory(long bytes) {
        if (bytes < MIN_MEMORY || bytes % PAGE != 0) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "memory must be a multiple of 4 KiB and at least %d MiB, got %d bytes", MIN_MEMORY >> 20, bytes));
        }
        this.memoryBytes = bytes;
        return this;
    }

    /** The number of vCPUs, at least 1 (and at most what KVM allows, checked by {@link #build()}). Default: 1. */
    public VirtualMachineBuilder vcpus(int count) {
        if (count < 1) {
            throw new IllegalArgumentException("a VM needs at least one vCPU, got " + count);
        }
        this.vcpus = count;
        return this;
    }

    /** The kernel: an ELF vmlinux or a bzImage (on x86_64). */
    public VirtualMachineBuilder kernel(Path file) {
        if (kernel != null) {
            throw new IllegalStateException("kernel was already set to " + kernel);
        }
        this.kernel = Objects.requireNonNull(file, "kernel");
        return this;
    }

    /** An initial ramdisk for the kernel. */
    public VirtualMachineBuilder initrd(Path file) {
        if (initrd != null) {
            throw new IllegalStateException("initrd was already set to " + initrd);
        }
        this.initrd = Objects.requireNonNull(file, "initrd");
        return this;
    }

    /** Kernel command-line parameters, after the architecture's own (such as {@code console=ttyS0}). */
    public VirtualMachineBuilder cmdline(String parameters) {
        this.commandLine = Objects.requireNonNull(parameters, "parameters").strip();
        return this;
    }

    /** Where the serial console's output goes. Default: {@link System#out}. */
    public VirtualMachineBuilder serial(OutputStream output) {
        this.serialOutput = Objects.requireNonNull(output, "output");
        return this;
    }

    /** Where the serial console's input comes from. Default: none. */
    public VirtualMachineBuilder serialInput(InputStream input) {
        this.serialInput = Objects.requireNonNull(input, "input");
        return this;
    }

    /** The architecture, instead of the one {@link java.util.ServiceLoader} finds for this host. */
    public VirtualMachineBuilder arch(LinuxArch architecture) {
        this.arch = Objects.requireNonNull(architecture, "architecture");
        return this;
    }

    /** Changes the CPUID each vCPU sees, leaf by leaf, after the architecture's own filtering (x86 only). */
    public VirtualMachineBuilder cpuid(UnaryOperator<CpuidEntry> customiser) {
        this.cpuid = Objects.requireNonNull(customiser, "customiser");
        return this;
    }

    /** Whether a compressed kernel (bzImage) is decompressed on the host, so the guest skips its decompressor. Default: true. */
    public VirtualMachineBuilder hostDecompression(boolean enabled) {
        this.hostDecompression = enabled;
        return this;
    }

    /** Adds {@code device} at ports {@code [port, port + length)} of the I/O bus. */
    public VirtualMachineBuilder ioDevice(BusDevice device, long port, long length) {
        devices.add(new ExtraDevice(Objects.requireNonNull(device, "device"), port, length, true));
        return this;
    }

    /** Adds {@code device} at guest-physical {@code [address, address + length)} of the MMIO bus. */
    public VirtualMachineBuilder mmioDevice(BusDevice device, long address, long length) {
        devices.add(new ExtraDevice(Objects.requireNonNull(device, "device"), address, length, false));
        return this;
    }

    /**
     * Adds a device that attaches itself (see {@link VmDevice}): a virtio device of vmm4j's or of your own, such as
     * {@code VirtioMmio.of(new MyDevice())}. Devices attach, and appear to the guest, in the order they are added.
     */
    public VirtualMachineBuilder device(VmDevice device) {
        vmDevices.add(new Given(Objects.requireNonNull(device, "device")));
        return this;
    }

    /** Adds a writable virtio block device over the image {@code image}; see {@link #disk(Path, boolean)}. */
    public VirtualMachineBuilder disk(Path image) {
        return disk(image, false);
    }

    /**
     * Adds a virtio block device over the image {@code image}, qcow2 (versions 2 and 3, with backing files) or raw as
     * its first bytes say (the guest's {@code /dev/vda}, then {@code vdb}, ... in the order added). The image is locked while the VM lives: shared if {@code readOnly}, exclusive
     * otherwise, so a second VM cannot write it at the same time. Needs the {@code dev.vmm4j:virtio} module.
     */
    public VirtualMachineBuilder disk(Path image, boolean readOnly) {
        vmDevices.add(new Disk(Objects.requireNonNull(image, "image"), readOnly));
        return this;
    }

    /** Adds a virtio entropy device fed from the host's secure random source. Needs the {@code dev.vmm4j:virtio} module. */
    public VirtualMachineBuilder rng() {
        vmDevices.add(new Rng());
        return this;
    }

    /**
     * Adds a virtio memory balloon, which the VM then offers as {@link VirtualMachine#balloon()} (and the guest driver
     * may deflate when it runs out of memory). Needs the {@code dev.vmm4j:virtio} module.
     */
    public VirtualMachineBuilder balloon() {
        if (vmDevices.stream().anyMatch(BalloonRequest.class::isInstance)) {
            throw new IllegalStateException("balloon() was already called: a VM has one balloon");
        }
        vmDevices.add(new BalloonRequest());
        return this;
    }

    /**
     * Checks the configuration, opens KVM, and sets the VM up (memory, devices, kernel, vCPUs) without starting it.
     *
     * @throws IllegalStateException listing every problem with the configuration
     */
    public VirtualMachine build() {
        List<String> problems = new ArrayList<>();
        if (kernel == null) {
            problems.add("no kernel: call kernel(path)");
        } else if (!Files.isRegularFile(kernel) || !Files.isReadable(kernel)) {
            problems.add("kernel " + kernel + " is not a readable file");
        }
        if (initrd != null && (!Files.isRegularFile(initrd) || !Files.isReadable(initrd))) {
            problems.add("initrd " + initrd + " is not a readable file");
        }
        for (ExtraDevice device : devices) {
            if (device.length() <= 0) {
                problems.add(String.format(Locale.ROOT, "device %s at %#x has length %d", device.device(), device.base(), device.length()));
            } else if (device.io() && (device.base() < 0 || device.base() + device.length() > 0x10000)) {
                problems.add(String.format(Locale.ROOT, "device %s at ports %#x+%#x is outside 0..0xffff", device.device(), device.base(), device.length()));
            }
        }
        boolean needsStandard = false;
        for (DeviceRequest request : vmDevices) {
            if (request instanceof Disk(Path image, boolean readOnly)) {
                if (!Files.isRegularFile(image)) {
                    problems.add("disk image " + image + " is not a regular file (image files only; block devices are not supported yet)");
                } else if (!Files.isReadable(image) || (!readOnly && !Files.isWritable(image))) {
                    problems.add("disk image " + image + " is not " + (readOnly ? "readable" : "readable and writable")
                            + " by this user" + (readOnly ? "" : " (add it read-only with disk(path, true))"));
                }
            }
            needsStandard |= !(request instanceof Given);
        }
        StandardDevices standard = null;
        if (needsStandard) {
            standard = ServiceLoader.load(StandardDevices.class, VirtualMachineBuilder.class.getClassLoader()).findFirst()
                    .orElse(null);
            if (standard == null) {
                problems.add("disk(), rng() and balloon() need vmm4j's virtio module: add the dev.vmm4j:virtio dependency");
            }
        }
        if (!problems.isEmpty()) {
            StringJoiner message = new StringJoiner("; ", "cannot build the VM: ", "");
            problems.forEach(message::add);
            throw new IllegalStateException(message.toString());
        }
        List<VmDevice> attached = new ArrayList<>();
        for (DeviceRequest request : vmDevices) {
            attached.add(request.create(standard));
        }
        BootSpec spec = new BootSpec(kernel, Optional.ofNullable(initrd), commandLine, vcpus, hostDecompression, cpuid,
                List.of());
        return VirtualMachine.create(this, spec, attached);
    }

    long memoryBytes() {
        return memoryBytes > 0 ? memoryBytes : 256L << 20;
    }

    OutputStream serialOutput() {
        return serialOutput;
    }

    Optional<InputStream> serialInput() {
        return Optional.ofNullable(serialInput);
    }

    Optional<LinuxArch> arch() {
        return Optional.ofNullable(arch);
    }

    List<ExtraDevice> devices() {
        return List.copyOf(devices);
    }

    @Override
    public String toString() {
        StringJoiner set = new StringJoiner(", ", "VirtualMachineBuilder[", "]");
        if (memoryBytes > 0) {
            set.add("memory=" + (memoryBytes >> 20) + " MiB");
        }
        set.add("vcpus=" + vcpus);
        if (kernel != null) {
            set.add("kernel=" + kernel);
        }
        if (initrd != null) {
            set.add("initrd=" + initrd);
        }
        if (!commandLine.isEmpty()) {
            set.add("cmdline=\"" + commandLine + "\"");
        }
        if (serialOutput != System.out) {
            set.add("serial=" + (serialOutput instanceof PrintStream ? "print stream" : serialOutput.getClass().getSimpleName()));
        }
        if (arch != null) {
            set.add("arch=" + arch.name());
        }
        if (!devices.isEmpty()) {
            set.add(devices.size() + " extra devices");
        }
        for (DeviceRequest request : vmDevices) {
            set.add(switch (request) {
                case Disk(Path image, boolean readOnly) -> "disk=" + image + (readOnly ? " (read-only)" : "");
                case Rng() -> "rng";
                case BalloonRequest() -> "balloon";
                case Given(VmDevice device) -> "device=" + device;
            });
        }
        return set.toString();
    }
}
