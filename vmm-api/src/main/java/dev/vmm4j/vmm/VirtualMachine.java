package dev.vmm4j.vmm;

import dev.vmm4j.vmm.boot.KernelCmdline;
import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.kvm.Capability;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import dev.vmm4j.vmm.resources.SystemAllocator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A Linux virtual machine on KVM: crosvm's {@code run_config} as a library call.
 *
 * <pre>{@code
 * try (VirtualMachine vm = VirtualMachine.builder()
 *         .memory(VirtualMachineBuilder.MiB(256)).vcpus(2)
 *         .kernel(Path.of("vmlinux")).cmdline("panic=1")
 *         .serial(System.out)
 *         .build()) {
 *     ExitStatus status = vm.run();            // or vm.start(); ... vm.awaitExit()
 * }
 * }</pre>
 *
 * {@link #build} sets everything up; {@link #start()} starts one platform thread per vCPU ({@code vcpu-N}); the VM
 * ends with the first {@link ExitStatus} any of them (or a device, or {@link #stop()}) reports, and every vCPU is then
 * kicked out of KVM_RUN. {@link #close()} stops it if needed, joins every thread and releases every fd and mapping,
 * whatever ended it.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class VirtualMachine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VirtualMachine.class.getName());

    private final LinuxArch arch;
    private final Kvm kvm;
    private final Vm vm;
    private final GuestMemoryMmap memory;
    private final Bus ioBus;
    private final Bus mmioBus;
    private final List<Vcpu> vcpus = new ArrayList<>();
    private Balloon balloon;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicReference<ExitStatus> exitStatus = new AtomicReference<>();
    private final CountDownLatch exited = new CountDownLatch(1);
    private final Object lifecycle = new Object();
    private boolean started;
    private boolean closed;

    private VirtualMachine(LinuxArch arch, Kvm kvm, Vm vm, GuestMemoryMmap memory) {
        this.arch = arch;
        this.kvm = kvm;
        this.vm = vm;
        this.memory = memory;
        this.ioBus = new Bus("io");
        this.mmioBus = new Bus("mmio");
    }

    /** {@return a builder; see {@link VirtualMachineBuilder}} */
    public static VirtualMachineBuilder builder() {
        return new VirtualMachineBuilder();
    }

    static VirtualMachine create(VirtualMachineBuilder config, BootSpec spec, List<VmDevice> devices) {
        LinuxArch arch = config.arch().orElseGet(VirtualMachine::hostArch);
        Kvm kvm = Kvm.open();
        Vm vm = null;
        GuestMemoryMmap memory = null;
        VirtualMachine machine = null;
        try {
            for (Capability needed : new Capability[] {Capability.USER_MEMORY, Capability.IRQCHIP, Capability.IRQFD,
                    Capability.IOEVENTFD, Capability.IMMEDIATE_EXIT}) {
                kvm.requireCapability(needed, "running a VM");
            }
            if (spec.vcpus() > kvm.maxVcpus()) {
                throw new IllegalStateException("cannot build the VM: " + spec.vcpus() + " vCPUs asked for, KVM allows "
                        + kvm.maxVcpus());
            }
            vm = kvm.createVm();
            GuestMemoryMmap.Builder layout = GuestMemoryMmap.builder();
            arch.memoryLayout(config.memoryBytes()).forEach(region -> layout.anonymous(region.start(), region.size()));
            memory = layout.build();
            memory.registerWith(vm);
            machine = new VirtualMachine(arch, kvm, vm, memory);
            machine.setUp(config, spec, devices);
            return machine;
        } catch (RuntimeException | IOException e) {
            if (machine != null) {
                machine.close();
            } else {
                if (vm != null) {
                    vm.close();
                }
                if (memory != null) {
                    memory.close();
                }
                kvm.close();
            }
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot build the VM: " + io.getMessage(), io);
            }
            throw (RuntimeException) e;
        }
    }

    private static LinuxArch hostArch() {
        for (LinuxArch candidate : ServiceLoader.load(LinuxArch.class, VirtualMachine.class.getClassLoader())) {
            if (candidate.supportsHost()) {
                return candidate;
            }
        }
        throw new IllegalStateException("no LinuxArch for this host (os.arch " + System.getProperty("os.arch")
                + "): put vmm4j's arch module for it (arch-x86_64 or arch-aarch64) on the class or module path");
    }

    private void setUp(VirtualMachineBuilder config, BootSpec givenSpec, List<VmDevice> devices) throws IOException {
        arch.createVm(kvm, vm, givenSpec.vcpus());
        SystemAllocator allocator = arch.systemAllocator(config.memoryBytes());
        arch.setupPlatform(new Platform(vm, memory, ioBus, mmioBus, allocator, config.serialOutput(), config.serialInput(),
                () -> finish(new ExitStatus.GuestReset()), resources));
        for (VirtualMachineBuilder.ExtraDevice device : config.devices()) {
            (device.io() ? ioBus : mmioBus).insert(device.device(), device.base(), device.length());
        }
        DeviceContext context = new DeviceContext(vm, memory, ioBus, mmioBus, allocator, resources);
        for (VmDevice device : devices) {
            device.attach(context);
        }
        balloon = context.balloon();
        BootSpec spec = givenSpec.withVirtioMmio(context.virtioMmioWindows());
        KernelCmdline commandLine = new KernelCmdline(arch.commandLineCapacity()).insertStr(arch.baseCommandLine());
        for (String parameter : arch.virtioMmioParameters(spec.virtioMmio())) {
            commandLine.insertStr(parameter);
        }
        commandLine.insertStr(spec.commandLine());
        Object boot = arch.loadKernel(memory, spec, commandLine.toString());
        for (int id = 0; id < spec.vcpus(); id++) {
            Vcpu vcpu = vm.createVcpu(id);
            vcpus.add(vcpu);
            arch.configureVcpu(kvm, vm, vcpu, spec, boot);
        }
        arch.afterVcpus(kvm, vm, List.copyOf(vcpus));
    }

    /** {@return the architecture the VM runs} */
    public LinuxArch arch() {
        return arch;
    }

    /** {@return the guest's memory} */
    public GuestMemory memory() {
        return memory;
    }

    /** {@return the port-I/O bus} */
    public Bus ioBus() {
        return ioBus;
    }

    /** {@return the MMIO bus} */
    public Bus mmioBus() {
        return mmioBus;
    }

    /** {@return the VM's memory balloon, if it was built with one ({@code builder.balloon()})} */
    public Optional<Balloon> balloon() {
        return Optional.ofNullable(balloon);
    }

    /** {@return where the VM is: its state, memory and vCPUs, the balloon's target and actual size, why it ended} */
    public VmStatus status() {
        ExitStatus ended = exitStatus.get();
        boolean running;
        synchronized (lifecycle) {
            running = started;
        }
        VmStatus.State state = ended != null ? VmStatus.State.ENDED : running ? VmStatus.State.RUNNING : VmStatus.State.CREATED;
        return new VmStatus(state, memory.totalSize(), vcpus.size(), balloon().map(Balloon::targetBytes),
                balloon().map(Balloon::actualBytes), Optional.ofNullable(ended));
    }

    /** Starts the vCPU threads. @throws IllegalStateException if already started or closed */
    public void start() {
        synchronized (lifecycle) {
            if (closed || started) {
                throw new IllegalStateException(closed ? "the VM is closed" : "the VM was already started");
            }
            started = true;
            for (Vcpu vcpu : vcpus) {
                VcpuLoop loop = new VcpuLoop(vcpu, ioBus, mmioBus, this::finish, this::isFinished, arch::programCounter);
                threads.add(Thread.ofPlatform().name("vcpu-" + vcpu.id()).start(loop));
            }
        }
    }

    /** Starts the VM and waits until it ends. {@return why it ended} */
    public ExitStatus run() throws InterruptedException {
        start();
        return awaitExit();
    }

    /** Waits until the VM ends and its vCPU threads are gone. {@return why it ended} */
    public ExitStatus awaitExit() throws InterruptedException {
        exited.await();
        joinThreads();
        return exitStatus.get();
    }

    /** Waits up to {@code timeout} for the VM to end. {@return why it ended, or empty if it still runs} */
    public Optional<ExitStatus> awaitExit(Duration timeout) throws InterruptedException {
        if (!exited.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return Optional.empty();
        }
        joinThreads();
        return Optional.of(exitStatus.get());
    }

    /** Ends the VM as {@link ExitStatus.HostStop}, unless it already ended; returns at once. */
    public void stop() {
        finish(new ExitStatus.HostStop());
    }

    /** {@return why the VM ended, if it did} */
    public Optional<ExitStatus> exitStatus() {
        return Optional.ofNullable(exitStatus.get());
    }

    private boolean isFinished() {
        return exitStatus.get() != null;
    }

    /** Records the first reason the VM ends, and kicks every vCPU out of KVM_RUN. */
    private void finish(ExitStatus status) {
        if (exitStatus.compareAndSet(null, status)) {
            LOG.log(System.Logger.Level.DEBUG, "VM ends: " + status.description());
            vcpus.forEach(Vcpu::kick);
            exited.countDown();
        }
    }

    private void joinThreads() throws InterruptedException {
        List<Thread> toJoin;
        synchronized (lifecycle) {
            toJoin = List.copyOf(threads);
        }
        for (Thread thread : toJoin) {
            thread.join();
        }
    }

    /** Stops the VM if it runs, joins every vCPU thread, and releases every fd and mapping. Idempotent. */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
        }
        stop();
        boolean interrupted = false;
        for (Thread thread : threads) {
            while (thread.isAlive()) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    interrupted = true; // the threads must be gone before their memory is unmapped
                }
            }
        }
        for (AutoCloseable resource : resources.reversed()) {
            try {
                resource.close();
            } catch (Exception e) {
                LOG.log(System.Logger.Level.WARNING, "closing " + resource + " failed", e);
            }
        }
        vm.close();
        kvm.close();
        memory.close();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "VirtualMachine[" + arch.name() + ", " + vcpus.size() + " vCPUs, " + (memory.totalSize() >> 20) + " MiB]";
    }
}
