// SPDX-License-Identifier: Apache-2.0
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
 * KVM never does: in this real-mode guest it fails with an emulation error, and in a long-mode kernel it rewrites the
 * instruction and runs it again, forever, without an exit, so a guest kernel that relies on hypercalls (Linux's
 * paravirtual IPIs, which bring up its second CPU) hangs. The answer is a property of the
 * host, found once per JVM.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class HypercallProbe {
    /** How long a hypercall may take before the probe gives up on it: hardware needs microseconds. */
    private static final long TIMEOUT_MS = 1000;

    private static final int KVM_HC_VAPIC_POLL_IRQ = 1;
    /** Where the probe guest's hypercall is. */
    private static final long AT_HYPERCALL = 3;
    /** How many times a probe guest that never reached its hypercall is run again, each time allowed longer. */
    private static final int ATTEMPTS = 3;

    private static final System.Logger LOG = System.getLogger(HypercallProbe.class.getName());
    private static Boolean answer;

    private HypercallProbe() {}

    /**
     * {@return whether a guest's hypercall returns on this host's KVM} Probes until it has an answer, then answers from
     * memory. A probe that cannot run says nothing about hypercalls: it answers true (offer what KVM offers, as
     * before) without remembering it.
     */
    static synchronized boolean hypercallsComplete(Kvm kvm) {
        if (answer == null) {
            try {
                answer = probe(kvm);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "could not probe whether KVM completes hypercalls", e);
                return true;
            }
        }
        return answer;
    }

    /**
     * Runs the probe guest until it answers: its port write came (the hypercall returned), it exited any other way, or
     * it is past the start of the hypercall when the time is up and the vCPU is kicked out (the hypercall did not return). A vCPU that had not
     * even reached the hypercall by then (a host too busy to run it) is given another try.
     */
    private static boolean probe(Kvm kvm) {
        for (int attempt = 1; ; attempt++) {
            Boolean answered = attempt(kvm, TIMEOUT_MS * attempt);
            if (answered != null) {
                return answered;
            }
            if (attempt == ATTEMPTS) {
                throw new IllegalStateException(
                        "the probe guest did not reach its hypercall in " + ATTEMPTS + " tries");
            }
        }
    }

    /** {@return whether the hypercall completed, or null if the guest had not reached it within {@code timeoutMs}} */
    private static Boolean attempt(Kvm kvm, long timeoutMs) {
        boolean amd = isAmd(kvm);
        // 0: mov ax, 1; 3: vmmcall (AMD) or vmcall (Intel); 6: out 0x80, al; 8: hlt
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
        // The memory outlives the VM (closed in reverse order): no slot ever points at unmapped memory.
        try (Arena arena = Arena.ofShared();
                Vm vm = kvm.createVm()) {
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
            // true: the hypercall returned; false: it did not; null: the guest had not reached it when kicked
            CompletableFuture<Boolean> verdict = new CompletableFuture<>();
            Thread thread = Thread.ofPlatform()
                    .name("vmm4j-hypercall-probe")
                    .daemon()
                    .start(() -> {
                        try (Vcpu.ThreadBinding binding = vcpu.bindToCurrentThread()) {
                            verdict.complete(verdictOf(vcpu, vcpu.run()));
                        } catch (Throwable t) {
                            verdict.completeExceptionally(t);
                        }
                    });
            try {
                verdict.get(timeoutMs, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // still in KVM_RUN: the kick below takes it out, and it reports where it was
            } catch (ExecutionException e) {
                throw new IllegalStateException(
                        "the hypercall probe failed: " + e.getCause().getMessage(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while probing KVM's hypercalls", e);
            } finally {
                vcpu.kick();
                joinUninterruptibly(thread); // before the VM and its memory go
            }
            return verdict.join();
        }
    }

    /**
     * Reads the probe guest's exit. Only the port write after the hypercall means it returned; any other exit (an
     * emulation error is what the development machines' KVM gives in real mode) means it did not. A kicked vCPU is
     * judged by where it was: still before the hypercall says nothing, anywhere else says the hypercall never returned.
     */
    private static Boolean verdictOf(Vcpu vcpu, VcpuExit exit) {
        if (exit instanceof VcpuExit.IoOut out && out.port() == 0x80) {
            return Boolean.TRUE;
        }
        if (!(exit instanceof VcpuExit.Intr)) {
            return Boolean.FALSE;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = kvm_regs.allocate(arena);
            vcpu.getRegs(regs);
            return kvm_regs.rip(regs) < AT_HYPERCALL ? null : Boolean.FALSE;
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
