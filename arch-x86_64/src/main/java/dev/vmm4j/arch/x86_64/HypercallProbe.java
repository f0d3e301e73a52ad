package dev.vmm4j.arch.x86_64;

import dev.vmm4j.kvm.bindings.kvm_regs;
import dev.vmm4j.kvm.bindings.kvm_segment;
import dev.vmm4j.kvm.bindings.kvm_sregs;
import dev.vmm4j.vmm.kvm.CpuidEntry;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.MemorySlotFlag;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.VcpuExit;
import dev.vmm4j.vmm.kvm.Vm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Does this host's KVM complete a guest's hypercall? A real-mode guest of five instructions makes the no-op hypercall
 * KVM_HC_VAPIC_POLL_IRQ and then writes port 0x80. Hardware KVM answers in microseconds. The development machines'
 * KVM never does: it rewrites the instruction and runs it again, forever, without an exit, so a guest kernel that
 * relies on hypercalls (Linux's paravirtual IPIs, which bring up its second CPU) hangs. The answer is a property of the
 * host, found once per JVM.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class HypercallProbe {
    /** How long a hypercall may take before the probe gives up on it: hardware needs microseconds. */
    private static final long TIMEOUT_MS = 1000;

    private static final int KVM_HC_VAPIC_POLL_IRQ = 1;
    private static final System.Logger LOG = System.getLogger(HypercallProbe.class.getName());
    private static Boolean answer;

    private HypercallProbe() {}

    /** {@return whether a guest's hypercall returns on this host's KVM} Probes once, then answers from memory. */
    static synchronized boolean hypercallsComplete(Kvm kvm) {
        if (answer == null) {
            try {
                answer = probe(kvm);
            } catch (RuntimeException e) {
                // A probe that cannot run says nothing about hypercalls: offer the guest what KVM offers, as before.
                LOG.log(System.Logger.Level.WARNING, "could not probe whether KVM completes hypercalls", e);
                answer = true;
            }
        }
        return answer;
    }

    private static boolean probe(Kvm kvm) {
        boolean amd = isAmd(kvm);
        // mov ax, 1; vmmcall (AMD) or vmcall (Intel); out 0x80, al; hlt
        byte[] code = {
            (byte) 0xb8,
            KVM_HC_VAPIC_POLL_IRQ,
            0,
            0x0f,
            0x01,
            (byte) (amd ? 0xd9 : 0xc1),
            (byte) 0xe6,
            (byte) 0x80,
            (byte) 0xf4
        };
        try (Vm vm = kvm.createVm();
                Arena arena = Arena.ofShared()) {
            MemorySegment ram = arena.allocate(0x10000, 4096);
            MemorySegment.copy(code, 0, ram, ValueLayout.JAVA_BYTE, 0, code.length);
            vm.setUserMemoryRegion(0, 0, ram, EnumSet.noneOf(MemorySlotFlag.class));
            Vcpu vcpu = vm.createVcpu(0);
            MemorySegment sregs = kvm_sregs.allocate(arena);
            vcpu.getSregs(sregs);
            kvm_segment.base(kvm_sregs.cs(sregs), 0);
            kvm_segment.selector(kvm_sregs.cs(sregs), (short) 0);
            vcpu.setSregs(sregs);
            MemorySegment regs = kvm_regs.allocate(arena);
            kvm_regs.rip(regs, 0);
            kvm_regs.rflags(regs, 2);
            vcpu.setRegs(regs);
            CompletableFuture<Boolean> ran = new CompletableFuture<>();
            Thread thread = Thread.ofPlatform()
                    .name("vmm4j-hypercall-probe")
                    .daemon()
                    .start(() -> {
                        try (Vcpu.ThreadBinding binding = vcpu.bindToCurrentThread()) {
                            VcpuExit exit = vcpu.run();
                            ran.complete(exit instanceof VcpuExit.IoOut out && out.port() == 0x80);
                        } catch (Throwable t) {
                            ran.completeExceptionally(t);
                        }
                    });
            boolean completes;
            try {
                completes = ran.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                completes = false;
            } catch (ExecutionException e) {
                throw new IllegalStateException(
                        "the hypercall probe failed: " + e.getCause().getMessage(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while probing KVM's hypercalls", e);
            }
            vcpu.kick();
            joinUninterruptibly(thread); // before the VM and its memory go
            return completes;
        }
    }

    private static boolean isAmd(Kvm kvm) {
        for (CpuidEntry entry : kvm.supportedCpuid().entries()) {
            if (entry.function() == 0) {
                return entry.ebx() == 0x6874_7541 || entry.ebx() == 0x6f67_7948; // "Auth"enticAMD, "Hygo"nGenuine
            }
        }
        return false;
    }

    private static void joinUninterruptibly(Thread thread) {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
