// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import dev.vmm4j.vmm.arch.ArchMachine;
import dev.vmm4j.vmm.arch.Boot;
import dev.vmm4j.vmm.arch.LinuxArch;
import dev.vmm4j.vmm.arch.MachineContext;
import dev.vmm4j.vmm.arch.MachineLayout;
import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.devices.VmDevice;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import dev.vmm4j.vmm.kvm.Capability;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A Linux virtual machine on KVM: crosvm's {@code run_config} as a library call.
 *
 * <pre>{@code
 * try (VirtualMachine vm = VirtualMachine.builder()
 *         .memory(VirtualMachineBuilder.MiB(256)).vcpus(2)
 *         .kernel(Path.of("vmlinux")).cmdline("panic=1")
 *         .device(VirtioDevices.rng())             // dev.vmm4j.virtio.devices
 *         .build()) {
 *     ExitStatus status = vm.run();                 // or vm.start(); ... vm.awaitExit()
 * }
 * }</pre>
 *
 * <h2>Life</h2>
 * {@link VirtualMachineBuilder#build()} sets everything up and starts no thread. {@link #start()} starts one platform
 * thread per vCPU ({@code vcpu-N}) and one per device event loop ({@code virtio-blk-0}, ...). The VM ends with the
 * first {@link ExitStatus} any of them reports: the guest's reset or power-off, a crash, {@link #stop()}, or a thread
 * of the VM's that died of anything ({@link ExitStatus.Failure}, which names the thread); every vCPU is then kicked out
 * of KVM_RUN. {@link #close()} ends it if needed and releases everything, whatever ended it.
 *
 * <h2>Closing, in order</h2>
 * The vCPU threads are joined, then the device event loops are stopped and joined, then what the architecture and the
 * devices registered is closed in reverse order (the devices themselves included), then the vCPUs, the KVM VM, and
 * last guest memory is unmapped. No thread of the VM's can touch guest memory once it is unmapped.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class VirtualMachine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VirtualMachine.class.getName());

    private final String name;
    private final LinuxArch arch;
    private final Kvm kvm;
    private final Vm vm;
    private final GuestMemoryMmap memory;
    private final Bus ioBus = new Bus("io");
    private final Bus mmioBus = new Bus("mmio");
    private final VmDeviceContext devices;
    /** Set once the machine has booted; read by whoever ends the VM, from any thread. */
    private volatile List<Vcpu> vcpus = List.of();

    private ArchMachine machine;
    private final List<Thread> vcpuThreads = new ArrayList<>();
    private final List<Thread> loopThreads = new ArrayList<>();
    private final AtomicReference<ExitStatus> exitStatus = new AtomicReference<>();
    private final CountDownLatch exited = new CountDownLatch(1);
    private final Object lifecycle = new Object();
    private boolean started;
    private boolean closed;
    /**
     * Begun by {@link #start()} when JFR records it; taken and committed by the one {@link #finish} that ends the VM.
     */
    private volatile VmRunEvent runEvent;

    private VirtualMachine(
            String name,
            LinuxArch arch,
            Kvm kvm,
            Vm vm,
            GuestMemoryMmap memory,
            MachineLayout layout,
            Optional<DeviceSandbox> sandbox) {
        this.name = name;
        this.arch = arch;
        this.kvm = kvm;
        this.vm = vm;
        this.memory = memory;
        this.devices = new VmDeviceContext(
                vm, memory, ioBus, mmioBus, layout.allocator(), deviceThreads(), this::finish, sandbox);
    }

    /** {@return a builder; see {@link VirtualMachineBuilder}} */
    public static VirtualMachineBuilder builder() {
        return new VirtualMachineBuilder();
    }

    /**
     * Builds a VM from {@code config}, which the builder checked. Every device in it becomes the VM's; if building
     * fails, everything set up is released and every device is closed before this throws.
     */
    static VirtualMachine create(VirtualMachineBuilder.Config config) {
        VmBuildEvent event = JfrEvents.mayRecord() ? new VmBuildEvent() : null;
        if (event != null) {
            event.begin();
        }
        VirtualMachine machine = null;
        try {
            machine = createMachine(config);
            return machine;
        } finally {
            if (event != null && event.shouldCommit()) {
                event.vm = config.name();
                event.succeeded = machine != null;
                event.arch = machine != null
                        ? machine.arch().name()
                        : config.arch().map(LinuxArch::name).orElse("");
                event.vcpus = config.vcpus();
                event.memoryBytes = config.memoryBytes();
                event.devices = config.devices().size();
                event.commit();
            }
        }
    }

    private static VirtualMachine createMachine(VirtualMachineBuilder.Config config) {
        Kvm kvm = null;
        Vm vm = null;
        GuestMemoryMmap memory = null;
        VirtualMachine machine = null;
        try {
            LinuxArch arch = config.arch().orElseGet(VirtualMachine::hostArch);
            MachineLayout layout = arch.layout(config.memoryBytes());
            kvm = Kvm.open();
            for (Capability needed : new Capability[] {
                Capability.USER_MEMORY,
                Capability.IRQCHIP,
                Capability.IRQFD,
                Capability.IOEVENTFD,
                Capability.IMMEDIATE_EXIT
            }) {
                kvm.requireCapability(needed, "running a VM");
            }
            if (config.vcpus() > kvm.maxVcpus()) {
                throw new IllegalStateException(
                        config.vcpus() + " vCPUs asked for, KVM on this host allows " + kvm.maxVcpus());
            }
            vm = kvm.createVm();
            GuestMemoryMmap.Builder regions = GuestMemoryMmap.builder();
            // Device processes map guest memory too: then it is a sealed memfd rather than anonymous memory. Without
            // a device there is no device process, and no reason to pay for the memfd's calls at start.
            boolean shared = config.sandbox().isPresent() && !config.devices().isEmpty();
            layout.ram().forEach(region -> {
                if (shared) {
                    regions.memfd(region.start(), region.size(), "guest-ram-" + Long.toHexString(region.start()));
                } else {
                    regions.anonymous(region.start(), region.size());
                }
            });
            memory = regions.build();
            memory.registerWith(vm);
            machine = new VirtualMachine(config.name(), arch, kvm, vm, memory, layout, config.sandbox());
            machine.setUp(config);
            return machine;
        } catch (Throwable failure) {
            if (machine != null) {
                machine.close(); // closes the devices it took over, attached or not
            } else {
                config.devices().forEach(VirtualMachine::closeQuietly);
                for (AutoCloseable resource : new AutoCloseable[] {vm, kvm, memory}) {
                    if (resource != null) {
                        closeQuietly(resource);
                    }
                }
            }
            if (failure instanceof Error error) {
                throw error; // the VM is released; the JVM is told as it was
            }
            throw failure instanceof VmBuildException build
                    ? build
                    : new VmBuildException(List.of(describe(failure)), failure);
        }
    }

    /** {@return the architecture {@link java.util.ServiceLoader} finds for this host} @throws IllegalStateException if none */
    static LinuxArch hostArch() {
        for (LinuxArch candidate : ServiceLoader.load(LinuxArch.class, VirtualMachine.class.getClassLoader())) {
            if (candidate.supportsHost()) {
                return candidate;
            }
        }
        throw new IllegalStateException("no LinuxArch for this host (os.arch " + System.getProperty("os.arch")
                + "): put vmm4j's arch module for it (arch-x86_64 or arch-aarch64) on the class or module path");
    }

    private void setUp(VirtualMachineBuilder.Config config) throws IOException {
        // From here on the devices are the VM's: close() closes them whether they attached or not.
        config.devices().forEach(devices::closeOnExit);
        machine = arch.createMachine(
                new MachineContext(kvm, vm, config.vcpus(), devices, config.serialOutput(), config.serialInput()));
        for (VirtualMachineBuilder.BusPlacement placement : config.busDevices()) {
            (placement.io() ? ioBus : mmioBus).insert(placement.device(), placement.base(), placement.length());
        }
        List<String> problems = new ArrayList<>();
        Throwable cause = null;
        for (VmDevice device : config.devices()) {
            try {
                device.attach(devices);
            } catch (RuntimeException | IOException e) {
                problems.add(describe(e));
                if (cause == null) {
                    cause = e;
                } else {
                    cause.addSuppressed(e);
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new VmBuildException(problems, cause);
        }
        KernelLoadEvent load = JfrEvents.mayRecord() ? new KernelLoadEvent() : null;
        if (load != null) {
            load.begin();
        }
        Boot boot = machine.boot(config.bootSpec(), devices.takeNodes());
        if (load != null && load.shouldCommit()) {
            load.vm = name;
            load.kernel = config.bootSpec().kernel().toString();
            load.commandLine = boot.commandLine();
            load.commit();
        }
        if (boot.vcpus().size() != config.vcpus()) {
            throw new IllegalStateException(
                    arch.name() + " set up " + boot.vcpus().size() + " vCPUs, not " + config.vcpus());
        }
        vcpus = boot.vcpus();
        LOG.log(System.Logger.Level.DEBUG, () -> "built " + this + ", command line: " + boot.commandLine());
    }

    private static String describe(Throwable failure) {
        return failure.getMessage() != null ? failure.getMessage() : failure.toString();
    }

    /** {@return the VM's name ({@link VirtualMachineBuilder#name}), as its JFR events carry it} */
    public String name() {
        return name;
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

    /** {@return where the VM is: its state, memory and vCPUs, and why it ended} */
    public VmStatus status() {
        ExitStatus ended = exitStatus.get();
        boolean running;
        synchronized (lifecycle) {
            running = started;
        }
        VmStatus.State state =
                ended != null ? VmStatus.State.ENDED : running ? VmStatus.State.RUNNING : VmStatus.State.CREATED;
        return new VmStatus(state, memory.totalSize(), vcpus.size(), Optional.ofNullable(ended));
    }

    /**
     * Starts the device event loops and the vCPU threads.
     *
     * @throws IllegalStateException if already started or closed
     */
    public void start() {
        synchronized (lifecycle) {
            if (closed || started) {
                throw new IllegalStateException(closed ? "the VM is closed" : "the VM was already started");
            }
            started = true;
            VmRunEvent run = JfrEvents.mayRecord() ? new VmRunEvent() : null;
            if (run != null && run.isEnabled()) {
                run.vm = name;
                run.begin();
                runEvent = run;
            }
            for (EventLoop loop : devices.loops()) {
                loopThreads.add(loop.start(body -> vmThread(loop.name(), false, body)));
            }
            for (Vcpu vcpu : vcpus) {
                VcpuStartEvent startEvent = JfrEvents.mayRecord() ? new VcpuStartEvent() : null;
                if (startEvent != null && startEvent.isEnabled()) {
                    startEvent.vm = name;
                    startEvent.vcpu = vcpu.id();
                    startEvent.begin();
                } else {
                    startEvent = null;
                }
                VcpuLoop loop = new VcpuLoop(
                        vcpu,
                        ioBus,
                        mmioBus,
                        this::finish,
                        this::isFinished,
                        machine,
                        new VcpuExitCounts(name, vcpu.id()),
                        startEvent);
                Thread thread = vmThread("vcpu-" + vcpu.id(), false, loop);
                vcpuThreads.add(thread);
                thread.start();
            }
        }
    }

    /**
     * {@return a new platform thread named {@code name} that runs the VM's {@code body}} If {@code body} throws
     * anything, {@link Error}s included, the VM ends with an {@link ExitStatus.Failure} that names the thread.
     */
    private Thread vmThread(String name, boolean daemon, Runnable body) {
        return Thread.ofPlatform().name(name).daemon(daemon).unstarted(() -> {
            try {
                body.run();
            } catch (Throwable t) {
                String thread = Thread.currentThread().getName();
                try {
                    finish(new ExitStatus.Failure(thread, t)); // first: logging may fail too, on an OutOfMemoryError
                } finally {
                    try {
                        LOG.log(System.Logger.Level.ERROR, "thread " + thread + " of " + this + " died", t);
                    } catch (Throwable ignored) {
                        // the VM has its status; a log line is all that is lost
                    }
                }
            }
        });
    }

    private ThreadFactory deviceThreads() {
        return body -> vmThread("vmm4j-device", true, body);
    }

    /**
     * {@return a new, unstarted daemon platform thread named {@code name} that runs {@code body} for this VM} If
     * {@code body} throws anything, {@link Error}s included, the VM ends with an {@link ExitStatus.Failure} that names
     * the thread. For an embedder's work that lives with the VM (a control socket, a balloon policy); the VM does not
     * join it.
     *
     * @param name the thread's name, which a {@link ExitStatus.Failure} repeats; not null
     * @param body what the thread runs; not null
     */
    public Thread newThread(String name, Runnable body) {
        return vmThread(Objects.requireNonNull(name, "name"), true, Objects.requireNonNull(body, "body"));
    }

    /**
     * Starts the VM and waits until it ends.
     *
     * @return why it ended
     * @throws IllegalStateException if already started or closed
     * @throws InterruptedException if the calling thread is interrupted while it waits; the VM goes on running (call
     *     {@link #stop()} to end it)
     */
    public ExitStatus run() throws InterruptedException {
        start();
        return awaitExit();
    }

    /**
     * Waits until the VM ends and its vCPU threads are gone.
     *
     * @return why it ended
     * @throws InterruptedException if the calling thread is interrupted while it waits; the VM is not stopped
     */
    public ExitStatus awaitExit() throws InterruptedException {
        exited.await();
        joinVcpuThreads();
        return exitStatus.get();
    }

    /**
     * Waits up to {@code timeout} for the VM to end.
     *
     * @param timeout how long to wait for the end, counted in whole milliseconds (rounded down); zero or negative does
     *     not wait. Once the VM has ended, the wait for its vCPU threads to be gone is not bounded by it
     * @return why it ended, or empty if it still runs
     * @throws InterruptedException if the calling thread is interrupted while it waits; the VM is not stopped
     */
    public Optional<ExitStatus> awaitExit(Duration timeout) throws InterruptedException {
        if (!exited.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return Optional.empty();
        }
        joinVcpuThreads();
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
            LOG.log(System.Logger.Level.DEBUG, () -> "VM ends: " + status.description());
            vcpus.forEach(Vcpu::kick);
            exited.countDown();
            VmRunEvent run = runEvent;
            if (run != null) {
                runEvent = null; // only this call gets here
                run.exitStatus = status.description();
                run.clean = status instanceof ExitStatus.GuestPowerOff
                        || status instanceof ExitStatus.GuestReset
                        || status instanceof ExitStatus.HostStop;
                run.commit();
            }
        }
    }

    private void joinVcpuThreads() throws InterruptedException {
        List<Thread> toJoin;
        synchronized (lifecycle) {
            toJoin = List.copyOf(vcpuThreads);
        }
        for (Thread thread : toJoin) {
            thread.join();
        }
    }

    /**
     * Ends the VM if it runs and releases everything, in the order the class comment gives: threads, devices and what
     * they registered, vCPUs, the VM, guest memory. Idempotent.
     *
     * @throws IllegalStateException if called on one of the VM's own threads (a bus device, a device's event loop),
     *     which close() would wait for: call {@link #stop()} there instead
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            Thread current = Thread.currentThread();
            if (vcpuThreads.contains(current) || loopThreads.contains(current)) {
                throw new IllegalStateException("close() waits for the VM's threads, so it cannot run on one of them ("
                        + current.getName() + "): call stop() there, and close() from another thread");
            }
            closed = true;
        }
        VmCloseEvent event = JfrEvents.mayRecord() ? new VmCloseEvent() : null;
        if (event != null) {
            event.begin();
        }
        stop();
        boolean interrupted = false;
        for (Thread thread : vcpuThreads) {
            interrupted |= joinUninterruptibly(thread);
        }
        // Device loops next: once these return, no device thread touches guest memory (their threads end with them).
        for (EventLoop loop : devices.loops()) {
            closeQuietly(loop);
        }
        for (Thread thread : loopThreads) {
            interrupted |= joinUninterruptibly(thread);
        }
        for (AutoCloseable resource : devices.resources().reversed()) {
            closeQuietly(resource);
        }
        closeQuietly(vm); // and with it the vCPUs
        closeQuietly(kvm);
        memory.close();
        if (event != null && event.shouldCommit()) {
            event.vm = name;
            event.commit();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@return whether the wait was interrupted; the thread is gone either way} */
    private static boolean joinUninterruptibly(Thread thread) {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true; // the threads must be gone before their memory is unmapped
            }
        }
        return interrupted;
    }

    /** Closes {@code resource}, logging (not throwing) a failure: one resource's failure must not stop the others. */
    static void closeQuietly(AutoCloseable resource) {
        try {
            resource.close();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "closing " + resource + " failed", e);
        }
    }

    @Override
    public String toString() {
        return "VirtualMachine[" + name + ", " + arch.name() + ", " + vcpus.size() + " vCPUs, "
                + (memory.totalSize() >> 20) + " MiB]";
    }
}
