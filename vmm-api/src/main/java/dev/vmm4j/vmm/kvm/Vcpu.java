// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.aarch64.kvm_vcpu_init;
import dev.vmm4j.kvm.bindings.kvm_debugregs;
import dev.vmm4j.kvm.bindings.kvm_fpu;
import dev.vmm4j.kvm.bindings.kvm_guest_debug;
import dev.vmm4j.kvm.bindings.kvm_lapic_state;
import dev.vmm4j.kvm.bindings.kvm_mp_state;
import dev.vmm4j.kvm.bindings.kvm_msr_entry;
import dev.vmm4j.kvm.bindings.kvm_msrs;
import dev.vmm4j.kvm.bindings.kvm_one_reg;
import dev.vmm4j.kvm.bindings.kvm_regs;
import dev.vmm4j.kvm.bindings.kvm_signal_mask;
import dev.vmm4j.kvm.bindings.kvm_sregs;
import dev.vmm4j.kvm.bindings.kvm_translation;
import dev.vmm4j.kvm.bindings.kvm_vcpu_events;
import dev.vmm4j.kvm.bindings.kvm_xcrs;
import dev.vmm4j.kvm.bindings.kvm_xsave;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * A virtual CPU: its registers and state, and {@link #run()}, which runs the guest until the next exit.
 *
 * <h2>Running and kicking</h2>
 * A vCPU runs on one platform thread, which binds itself first so that other threads can {@link #kick()} it out of
 * {@code KVM_RUN} (see {@link KickSignal} for how):
 * <pre>{@code
 * try (Vcpu.ThreadBinding binding = vcpu.bindToCurrentThread()) {
 *     while (!stopping) {
 *         switch (vcpu.run()) {
 *             case VcpuExit.Intr intr -> {}            // kicked: look at why, then go on or stop
 *             case VcpuExit.IoOut out -> ...
 *             ...
 *         }
 *     }
 * }
 * }</pre>
 *
 * <h2>Registers</h2>
 * The x86 register sets are passed as the C structs KVM uses, in native segments laid out by the generated
 * bindings: {@code MemorySegment regs = kvm_regs.allocate(arena); vcpu.getRegs(regs); kvm_regs.rip(regs, 0x1000);
 * vcpu.setRegs(regs);}. MSRs, CPUID and the multiprocessing state have typed methods.
 *
 * <p><b>Thread safety:</b> {@link #run()} and the register methods are vCPU-thread confined (KVM makes other
 * threads wait for the vCPU mutex); {@link #kick()} is safe from any thread.
 */
public final class Vcpu implements AutoCloseable {
    private final int id;
    private final OwnedFd fd;
    private final int rawFd;
    /** Owns the kvm_run mapping; shared because kickers write immediate_exit from other threads. */
    private final Arena arena = Arena.ofShared();

    private final KvmRun kvmRun;
    private final MemorySegment onlyKick;
    private final MemorySegment zeroTimeout;

    private final Object bindingLock = new Object();
    /** The bound thread and its kernel thread id; guarded by bindingLock, read without it on the run path. */
    private volatile Thread boundThread;

    private int boundTid;
    /** Set under bindingLock before kvm_run is unmapped, so that no kick touches it after. */
    private boolean closed;

    Vcpu(int id, OwnedFd fd, int mmapSize) {
        this.id = id;
        this.fd = fd;
        this.rawFd = fd.get();
        try {
            MemorySegment run = Libc.mmap(
                    mmapSize,
                    LinuxHeaders.PROT_READ() | LinuxHeaders.PROT_WRITE(),
                    LinuxHeaders.MAP_SHARED(),
                    rawFd,
                    0,
                    arena,
                    "kvm_run of vcpu " + id);
            this.kvmRun = KvmRun.wrap(run);
            this.onlyKick = KickSignal.onlyKick(arena);
            this.zeroTimeout = KickSignal.zeroTimeout(arena);
        } catch (RuntimeException e) {
            arena.close();
            fd.close();
            throw e;
        }
    }

    /** {@return the vCPU id (on x86, the initial APIC id)} */
    public int id() {
        return id;
    }

    /** {@return the vCPU's file descriptor; it stays owned by this object} */
    public int fd() {
        return fd.get();
    }

    /** {@return the vCPU's {@code kvm_run} area} */
    public KvmRun kvmRun() {
        return kvmRun;
    }

    // ---- running ----------------------------------------------------------------------------------------------

    /**
     * Runs the guest until it exits to userspace, and returns the exit (a reused view: valid until the next call).
     * A {@link #kick()} makes this (or the next) call return {@link VcpuExit.Intr}. Allocates nothing.
     *
     * @return why the guest stopped: one of this vCPU's preallocated {@link VcpuExit} instances, overwritten by the
     *     next call
     * @throws KvmException if {@code KVM_RUN} fails for another reason than a signal
     */
    public VcpuExit run() {
        int result = KvmIoctl.KVM_RUN.raw(rawFd, 0L);
        if (result >= 0) {
            return kvmRun.exit();
        }
        int errno = -result;
        if (errno == LinuxHeaders.EINTR() || errno == LinuxHeaders.EAGAIN()) {
            kvmRun.clearImmediateExit();
            if (boundThread == Thread.currentThread()) {
                KickSignal.drainPending(onlyKick, zeroTimeout);
            }
            return kvmRun.intr();
        }
        throw new KvmException(
                "KVM_RUN", errno, "vcpu " + id + " cannot run (check its registers and the memory slots)");
    }

    /**
     * Binds this vCPU to the calling thread, so that {@link #kick()} can interrupt {@link #run()} there: blocks the
     * kick signal in this thread and gives KVM a signal mask without it. Close the binding on the same thread
     * before the thread ends.
     *
     * @return the binding; close it on this thread, after the last {@link #run()} here
     * @throws IllegalStateException if the vCPU is already bound, or the calling thread is virtual (its carrier, whose
     *     signal mask the kick needs, changes under it and serves other virtual threads)
     */
    public ThreadBinding bindToCurrentThread() {
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("vcpu " + id + " must run on a platform thread, not a virtual one: the kick"
                    + " signal is blocked in, and sent to, the kernel thread that runs it");
        }
        synchronized (bindingLock) {
            if (boundThread != null) {
                throw new IllegalStateException("vcpu " + id + " is already bound to thread " + boundThread.getName());
            }
            Arena bindingArena = Arena.ofShared();
            try {
                MemorySegment previousMask = KickSignal.blockInCurrentThread(bindingArena);
                setSignalMask(KickSignal.kernelMaskWithKickUnblocked(previousMask));
                boundTid = Libc.gettid();
                boundThread = Thread.currentThread();
                return new ThreadBinding(bindingArena, previousMask);
            } catch (RuntimeException e) {
                bindingArena.close();
                throw e;
            }
        }
    }

    /**
     * Makes the vCPU leave {@link #run()} soon with {@link VcpuExit.Intr}: at once if it is inside {@code KVM_RUN} on
     * a bound thread, else at its next entry. Safe from any thread; the vCPU thread decides what the kick means.
     */
    public void kick() {
        synchronized (bindingLock) {
            if (closed) {
                return;
            }
            kvmRun.requestImmediateExit();
            // A thread that ended without closing its binding may have left its id to a newer thread of this process,
            // which would die of the signal: only a live bound thread is signalled.
            if (boundThread != null && boundThread.isAlive()) {
                KickSignal.send(boundTid);
            }
        }
    }

    private void setSignalMask(long kernelMask) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment mask = local.allocate(kvm_signal_mask.sigset$offset() + Libc.KERNEL_SIGSET_BYTES, 8);
            kvm_signal_mask.len(mask, Libc.KERNEL_SIGSET_BYTES);
            mask.set(ValueLayout.JAVA_LONG_UNALIGNED, kvm_signal_mask.sigset$offset(), kernelMask);
            KvmIoctl.KVM_SET_SIGNAL_MASK.call(rawFd, mask);
        }
    }

    /** The binding of a vCPU to its thread, from {@link #bindToCurrentThread()}; close it on that thread. */
    public final class ThreadBinding implements AutoCloseable {
        private final Arena bindingArena;
        private final MemorySegment previousMask;
        private boolean closed;

        private ThreadBinding(Arena bindingArena, MemorySegment previousMask) {
            this.bindingArena = bindingArena;
            this.previousMask = previousMask;
        }

        /** Unbinds: no more kick signals are sent, pending ones are taken, and the thread's signal mask is restored. */
        @Override
        public void close() {
            synchronized (bindingLock) {
                if (closed) {
                    return;
                }
                if (boundThread != Thread.currentThread()) {
                    throw new IllegalStateException("vcpu " + id + " was bound by thread " + boundThread.getName()
                            + " and must be unbound there, not on "
                            + Thread.currentThread().getName());
                }
                closed = true;
                boundThread = null;
                boundTid = 0;
                // No kicker can send now (it holds bindingLock to send): take what was sent, then unblock.
                KickSignal.drainPending(onlyKick, zeroTimeout);
                KickSignal.restoreInCurrentThread(previousMask);
                bindingArena.close();
            }
        }
    }

    // ---- general-purpose, special and floating-point registers (x86) ---------------------------------------

    /**
     * Copies the general-purpose registers into {@code regs}, a {@code struct kvm_regs}.
     *
     * @param regs a native {@code struct kvm_regs}, as {@code kvm_regs.allocate(arena)} makes it; overwritten
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void getRegs(MemorySegment regs) {
        Structs.require(regs, kvm_regs.layout(), "struct kvm_regs");
        KvmIoctl.KVM_GET_REGS.call(rawFd, regs);
    }

    /**
     * Sets the general-purpose registers from {@code regs}, a {@code struct kvm_regs}.
     *
     * @param regs a native {@code struct kvm_regs}, as {@code kvm_regs.allocate(arena)} makes it; read, not kept
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void setRegs(MemorySegment regs) {
        Structs.require(regs, kvm_regs.layout(), "struct kvm_regs");
        KvmIoctl.KVM_SET_REGS.call(rawFd, regs);
    }

    /**
     * Copies the special registers (segments, control registers, descriptor tables) into {@code sregs}, a
     * {@code struct kvm_sregs}.
     *
     * @param sregs a native {@code struct kvm_sregs}, as {@code kvm_sregs.allocate(arena)} makes it; overwritten
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void getSregs(MemorySegment sregs) {
        Structs.require(sregs, kvm_sregs.layout(), "struct kvm_sregs");
        KvmIoctl.KVM_GET_SREGS.call(rawFd, sregs);
    }

    /**
     * Sets the special registers from {@code sregs}, a {@code struct kvm_sregs}.
     *
     * @param sregs a native {@code struct kvm_sregs}, as {@code kvm_sregs.allocate(arena)} makes it; read, not kept
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     * @throws KvmException if KVM refuses the values, such as segments, control registers and EFER that do not
     *     agree
     */
    public void setSregs(MemorySegment sregs) {
        Structs.require(sregs, kvm_sregs.layout(), "struct kvm_sregs");
        KvmIoctl.KVM_SET_SREGS.call(rawFd, sregs, "the segment, control register or EFER values are inconsistent");
    }

    /**
     * Copies the FPU state into {@code fpu}, a {@code struct kvm_fpu}.
     *
     * @param fpu a native {@code struct kvm_fpu}, as {@code kvm_fpu.allocate(arena)} makes it; overwritten
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void getFpu(MemorySegment fpu) {
        Structs.require(fpu, kvm_fpu.layout(), "struct kvm_fpu");
        KvmIoctl.KVM_GET_FPU.call(rawFd, fpu);
    }

    /**
     * Sets the FPU state from {@code fpu}, a {@code struct kvm_fpu}.
     *
     * @param fpu a native {@code struct kvm_fpu}, as {@code kvm_fpu.allocate(arena)} makes it; read, not kept
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void setFpu(MemorySegment fpu) {
        Structs.require(fpu, kvm_fpu.layout(), "struct kvm_fpu");
        KvmIoctl.KVM_SET_FPU.call(rawFd, fpu);
    }

    /**
     * Copies the extended control registers into {@code xcrs}, a {@code struct kvm_xcrs}.
     *
     * @param xcrs a native {@code struct kvm_xcrs}, as {@code kvm_xcrs.allocate(arena)} makes it; overwritten
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void getXcrs(MemorySegment xcrs) {
        Structs.require(xcrs, kvm_xcrs.layout(), "struct kvm_xcrs");
        KvmIoctl.KVM_GET_XCRS.call(rawFd, xcrs);
    }

    /**
     * Sets the extended control registers from {@code xcrs}, a {@code struct kvm_xcrs}.
     *
     * @param xcrs a native {@code struct kvm_xcrs}, as {@code kvm_xcrs.allocate(arena)} makes it; read, not kept
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void setXcrs(MemorySegment xcrs) {
        Structs.require(xcrs, kvm_xcrs.layout(), "struct kvm_xcrs");
        KvmIoctl.KVM_SET_XCRS.call(rawFd, xcrs);
    }

    /**
     * Copies the XSAVE area into {@code xsave}, a {@code struct kvm_xsave}.
     *
     * @param xsave a native {@code struct kvm_xsave}, as {@code kvm_xsave.allocate(arena)} makes it; overwritten
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void getXsave(MemorySegment xsave) {
        Structs.require(xsave, kvm_xsave.layout(), "struct kvm_xsave");
        KvmIoctl.KVM_GET_XSAVE.call(rawFd, xsave);
    }

    /**
     * Sets the XSAVE area from {@code xsave}, a {@code struct kvm_xsave}.
     *
     * @param xsave a native {@code struct kvm_xsave}, as {@code kvm_xsave.allocate(arena)} makes it; read, not kept
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void setXsave(MemorySegment xsave) {
        Structs.require(xsave, kvm_xsave.layout(), "struct kvm_xsave");
        KvmIoctl.KVM_SET_XSAVE.call(rawFd, xsave);
    }

    /**
     * Copies the debug registers into {@code debugregs}, a {@code struct kvm_debugregs}.
     *
     * @param debugregs a native {@code struct kvm_debugregs}, as {@code kvm_debugregs.allocate(arena)} makes it;
     *     overwritten
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void getDebugRegs(MemorySegment debugregs) {
        Structs.require(debugregs, kvm_debugregs.layout(), "struct kvm_debugregs");
        KvmIoctl.KVM_GET_DEBUGREGS.call(rawFd, debugregs);
    }

    /**
     * Sets the debug registers from {@code debugregs}, a {@code struct kvm_debugregs}.
     *
     * @param debugregs a native {@code struct kvm_debugregs}, as {@code kvm_debugregs.allocate(arena)} makes it;
     *     read, not kept
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void setDebugRegs(MemorySegment debugregs) {
        Structs.require(debugregs, kvm_debugregs.layout(), "struct kvm_debugregs");
        KvmIoctl.KVM_SET_DEBUGREGS.call(rawFd, debugregs);
    }

    /**
     * Enables breakpoints or single-stepping as {@code debug}, a {@code struct kvm_guest_debug}, says. They exit
     * with {@link VcpuExit.Debug}; {@code control} 0 turns debugging off.
     *
     * @param debug a native {@code struct kvm_guest_debug}, as {@code kvm_guest_debug.allocate(arena)} makes it; read,
     *     not kept
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void setGuestDebug(MemorySegment debug) {
        Structs.require(debug, kvm_guest_debug.layout(), "struct kvm_guest_debug");
        KvmIoctl.KVM_SET_GUEST_DEBUG.call(rawFd, debug);
    }

    // ---- MSRs, CPUID, LAPIC, events, MP state ---------------------------------------------------------------

    /**
     * {@return the values of the MSRs {@code indices}, in order} ({@code KVM_GET_MSRS})
     *
     * @param indices MSR numbers, such as {@code 0xc000_0080} for EFER; none gives an empty array
     * @throws KvmException naming the first MSR KVM did not read
     */
    public long[] getMsrs(int... indices) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment msrs = allocateMsrs(local, indices.length);
            for (int i = 0; i < indices.length; i++) {
                kvm_msr_entry.index(msrEntry(msrs, i), indices[i]);
            }
            int read = KvmIoctl.KVM_GET_MSRS.call(rawFd, msrs);
            if (read < indices.length) {
                throw new KvmException(
                        "KVM_GET_MSRS",
                        String.format(
                                Locale.ROOT,
                                "read %d of %d MSRs: MSR %#x is not supported by KVM",
                                read,
                                indices.length,
                                indices[read]));
            }
            long[] values = new long[indices.length];
            for (int i = 0; i < values.length; i++) {
                values[i] = kvm_msr_entry.data(msrEntry(msrs, i));
            }
            return values;
        }
    }

    /**
     * Sets the MSRs {@code entries}, in order ({@code KVM_SET_MSRS}).
     *
     * @param entries the MSRs and their values; read, not kept. KVM stops at the first it refuses, so the ones
     *     before it are set.
     * @throws KvmException naming the first MSR KVM refused
     */
    public void setMsrs(List<MsrEntry> entries) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment msrs = allocateMsrs(local, entries.size());
            for (int i = 0; i < entries.size(); i++) {
                MemorySegment entry = msrEntry(msrs, i);
                kvm_msr_entry.index(entry, entries.get(i).index());
                kvm_msr_entry.data(entry, entries.get(i).data());
            }
            int written = KvmIoctl.KVM_SET_MSRS.call(rawFd, msrs);
            if (written < entries.size()) {
                throw new KvmException(
                        "KVM_SET_MSRS",
                        String.format(
                                Locale.ROOT,
                                "set %d of %d MSRs: KVM refused %s",
                                written,
                                entries.size(),
                                entries.get(written)));
            }
        }
    }

    private static MemorySegment allocateMsrs(Arena arena, int count) {
        MemorySegment msrs = arena.allocate(
                kvm_msrs.entries$offset() + count * kvm_msr_entry.sizeof(),
                kvm_msrs.layout().byteAlignment());
        kvm_msrs.nmsrs(msrs, count);
        return msrs;
    }

    private static MemorySegment msrEntry(MemorySegment msrs, int i) {
        return msrs.asSlice(kvm_msrs.entries$offset() + i * kvm_msr_entry.sizeof(), kvm_msr_entry.layout());
    }

    /**
     * Gives the vCPU the CPUID table {@code cpuid} ({@code KVM_SET_CPUID2}); do it before the first {@link #run()}.
     *
     * @param cpuid the whole table the guest sees, usually {@link Kvm#supportedCpuid()} filtered; it replaces the
     *     vCPU's table
     * @throws KvmException if KVM rejects an entry, or a changed table once the vCPU has run
     */
    public void setCpuid(Cpuid cpuid) {
        Objects.requireNonNull(cpuid, "cpuid");
        try (Arena local = Arena.ofConfined()) {
            KvmIoctl.KVM_SET_CPUID2.call(
                    rawFd,
                    cpuid.toStruct(local),
                    "the table has too many entries, or entries KVM rejects (see Kvm.supportedCpuid())");
        }
    }

    /** {@return the vCPU's CPUID table ({@code KVM_GET_CPUID2})} */
    public Cpuid getCpuid() {
        return Cpuid.query(KvmIoctl.KVM_GET_CPUID2, rawFd);
    }

    /**
     * Copies the local APIC registers into {@code lapic}, a {@code struct kvm_lapic_state} (needs an in-kernel
     * irqchip).
     *
     * @param lapic a native {@code struct kvm_lapic_state}, as {@code kvm_lapic_state.allocate(arena)} makes it;
     *     overwritten with the APIC's 1 KiB register page
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     * @throws KvmException if there is no in-kernel irqchip
     */
    public void getLapic(MemorySegment lapic) {
        Structs.require(lapic, kvm_lapic_state.layout(), "struct kvm_lapic_state");
        KvmIoctl.KVM_GET_LAPIC.call(rawFd, lapic, "the local APIC exists only with an in-kernel irqchip");
    }

    /**
     * Sets the local APIC registers from {@code lapic}, a {@code struct kvm_lapic_state}.
     *
     * @param lapic a native {@code struct kvm_lapic_state}, as {@code kvm_lapic_state.allocate(arena)} makes it;
     *     read, not kept
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     * @throws KvmException if there is no in-kernel irqchip
     */
    public void setLapic(MemorySegment lapic) {
        Structs.require(lapic, kvm_lapic_state.layout(), "struct kvm_lapic_state");
        KvmIoctl.KVM_SET_LAPIC.call(rawFd, lapic, "the local APIC exists only with an in-kernel irqchip");
    }

    /**
     * Copies pending exceptions, interrupts and NMIs into {@code events}, a {@code struct kvm_vcpu_events}.
     *
     * @param events a native {@code struct kvm_vcpu_events}, as {@code kvm_vcpu_events.allocate(arena)} makes it;
     *     overwritten
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void getVcpuEvents(MemorySegment events) {
        Structs.require(events, kvm_vcpu_events.layout(), "struct kvm_vcpu_events");
        KvmIoctl.KVM_GET_VCPU_EVENTS.call(rawFd, events);
    }

    /**
     * Sets pending exceptions, interrupts and NMIs from {@code events}, a {@code struct kvm_vcpu_events}.
     *
     * @param events a native {@code struct kvm_vcpu_events}, as {@code kvm_vcpu_events.allocate(arena)} makes it;
     *     read, not kept
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void setVcpuEvents(MemorySegment events) {
        Structs.require(events, kvm_vcpu_events.layout(), "struct kvm_vcpu_events");
        KvmIoctl.KVM_SET_VCPU_EVENTS.call(rawFd, events);
    }

    /** {@return the multiprocessing state, a {@code KVM_MP_STATE_*} value} */
    public int getMpState() {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment state = local.allocate(kvm_mp_state.layout());
            KvmIoctl.KVM_GET_MP_STATE.call(rawFd, state);
            return kvm_mp_state.mp_state(state);
        }
    }

    /**
     * Sets the multiprocessing state ({@code KVM_MP_STATE_RUNNABLE}, {@code _UNINITIALIZED}, {@code _STOPPED}, ...).
     *
     * @param mpState a {@code KVM_MP_STATE_*} value valid on this architecture (x86: the APIC states need an
     *     in-kernel irqchip; aarch64: such as {@code RUNNABLE} or {@code STOPPED})
     * @throws KvmException if KVM refuses the state here
     */
    public void setMpState(int mpState) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment state = local.allocate(kvm_mp_state.layout());
            kvm_mp_state.mp_state(state, mpState);
            KvmIoctl.KVM_SET_MP_STATE.call(
                    rawFd, state, "state " + mpState + " needs an in-kernel irqchip or is not valid here");
        }
    }

    // ---- one_reg (aarch64 and others), interrupts, translation, TSC -----------------------------------------

    /**
     * {@return the register {@code regId} ({@code KVM_GET_ONE_REG}; the id encodes the size, which must be at most 64
     * bits)} A smaller register comes zero-extended.
     *
     * @param regId a {@code KVM_REG_*} id: architecture, size ({@code KVM_REG_SIZE_*}) and register, as the
     *     architecture's headers compose it
     * @throws IllegalArgumentException if the id encodes more than 64 bits
     * @throws KvmException if the vCPU has no such register, or (on aarch64) has not been
     *     {@linkplain #armInit initialised}
     */
    public long getOneReg(long regId) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment value = local.allocate(ValueLayout.JAVA_LONG);
            getOneReg(regId, value);
            return value.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /**
     * Copies register {@code regId} into {@code value}, which must hold the size the id encodes.
     *
     * @param regId a {@code KVM_REG_*} id: architecture, size ({@code KVM_REG_SIZE_*}) and register, as the
     *     architecture's headers compose it
     * @param value native memory that receives the register in its first bytes (such as 16 for a 128-bit SIMD
     *     register); the rest is left alone
     * @throws IllegalArgumentException if {@code value} is on the heap or smaller than the size the id encodes
     * @throws KvmException if the vCPU has no such register, or (on aarch64) has not been
     *     {@linkplain #armInit initialised}
     */
    public void getOneReg(long regId, MemorySegment value) {
        oneReg(KvmIoctl.KVM_GET_ONE_REG, regId, value);
    }

    /**
     * Sets the 64-bit register {@code regId} to {@code value} ({@code KVM_SET_ONE_REG}). A register the id makes
     * smaller takes the low bytes.
     *
     * @param regId a {@code KVM_REG_*} id: architecture, size ({@code KVM_REG_SIZE_*}) and register, as the
     *     architecture's headers compose it
     * @param value the new value
     * @throws IllegalArgumentException if the id encodes more than 64 bits
     * @throws KvmException if the vCPU has no such register, or (on aarch64) has not been
     *     {@linkplain #armInit initialised}
     */
    public void setOneReg(long regId, long value) {
        try (Arena local = Arena.ofConfined()) {
            setOneReg(regId, local.allocateFrom(ValueLayout.JAVA_LONG, value));
        }
    }

    /**
     * Sets register {@code regId} from {@code value}, which must hold the size the id encodes.
     *
     * @param regId a {@code KVM_REG_*} id: architecture, size ({@code KVM_REG_SIZE_*}) and register, as the
     *     architecture's headers compose it
     * @param value native memory whose first bytes, as many as the id's size, are the new value; read, not kept
     * @throws IllegalArgumentException if {@code value} is on the heap or smaller than the size the id encodes
     * @throws KvmException if the vCPU has no such register, or (on aarch64) has not been
     *     {@linkplain #armInit initialised}
     */
    public void setOneReg(long regId, MemorySegment value) {
        oneReg(KvmIoctl.KVM_SET_ONE_REG, regId, value);
    }

    private void oneReg(KvmIoctl ioctl, long regId, MemorySegment value) {
        long size = oneRegSize(regId);
        if (value.byteSize() < size || !value.isNative()) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "register %#x is %d bytes; the value segment must be native and hold them",
                    regId,
                    size));
        }
        try (Arena local = Arena.ofConfined()) {
            MemorySegment reg = local.allocate(kvm_one_reg.layout());
            kvm_one_reg.id(reg, regId);
            kvm_one_reg.addr(reg, value.address());
            ioctl.call(rawFd, reg, String.format(Locale.ROOT, "register %#x does not exist on this vCPU", regId));
        }
    }

    /** {@return the size in bytes that {@code KVM_REG_SIZE} encodes in a one_reg id} */
    static long oneRegSize(long regId) {
        long shift = (regId & LinuxHeaders.KVM_REG_SIZE_MASK()) >>> LinuxHeaders.KVM_REG_SIZE_SHIFT();
        return 1L << shift;
    }

    /**
     * Initialises an aarch64 vCPU as {@code target} (from {@link Vm#armPreferredTarget()}) with the
     * {@code KVM_ARM_VCPU_*} feature bits in {@code features} ({@code KVM_ARM_VCPU_INIT}); before its first run.
     *
     * @param target the {@code KVM_ARM_TARGET_*} CPU model, normally {@link Vm#armPreferredTarget()}
     * @param features the first word of feature bits, each {@code 1 << KVM_ARM_VCPU_*} (such as
     *     {@code KVM_ARM_VCPU_PSCI_0_2}, or {@code KVM_ARM_VCPU_POWER_OFF} for secondary vCPUs); later words stay 0
     * @throws KvmException if this is not aarch64 KVM, or the host does not offer the target or a feature
     */
    public void armInit(int target, int features) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment init = local.allocate(kvm_vcpu_init.layout());
            kvm_vcpu_init.target(init, target);
            kvm_vcpu_init.features(init).set(ValueLayout.JAVA_INT, 0, features);
            KvmIoctl.KVM_ARM_VCPU_INIT.call(
                    rawFd,
                    init,
                    String.format(
                            Locale.ROOT,
                            "vcpu %d: aarch64 KVM only; target %d and features %#x must be ones this host offers",
                            id,
                            target,
                            features));
        }
    }

    /**
     * Injects external interrupt {@code vector} (only without an in-kernel irqchip; {@code KVM_INTERRUPT}).
     *
     * @param vector the interrupt vector, 0 to 255, as the guest's IDT numbers it
     * @throws KvmException if the VM has an in-kernel irqchip
     */
    public void interrupt(int vector) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment irq = local.allocateFrom(ValueLayout.JAVA_INT, vector);
            KvmIoctl.KVM_INTERRUPT.call(rawFd, irq, "KVM_INTERRUPT works only without an in-kernel irqchip");
        }
    }

    /** Injects a non-maskable interrupt ({@code KVM_NMI}). */
    public void nmi() {
        KvmIoctl.KVM_NMI.call(rawFd, 0L);
    }

    /**
     * {@return the guest-physical address that guest-virtual {@code linearAddress} maps to now, or empty if unmapped}
     * KVM walks the guest's current page tables ({@code KVM_TRANSLATE}); x86.
     *
     * @param linearAddress a guest-virtual (linear) address, translated with the vCPU's current CR3 and paging mode
     */
    public OptionalLong translate(long linearAddress) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment translation = local.allocate(kvm_translation.layout());
            kvm_translation.linear_address(translation, linearAddress);
            KvmIoctl.KVM_TRANSLATE.call(rawFd, translation);
            return kvm_translation.valid(translation) != 0
                    ? OptionalLong.of(kvm_translation.physical_address(translation))
                    : OptionalLong.empty();
        }
    }

    /** {@return the guest TSC frequency in kHz ({@code KVM_GET_TSC_KHZ})} */
    public int getTscKhz() {
        return KvmIoctl.KVM_GET_TSC_KHZ.call(rawFd, 0L, "needs KVM_CAP_GET_TSC_KHZ");
    }

    /**
     * Sets the guest TSC frequency in kHz ({@code KVM_SET_TSC_KHZ}; needs {@link Capability#TSC_CONTROL}).
     *
     * @param khz the frequency the guest sees, in kHz (such as 2_500_000 for 2.5 GHz); KVM refuses ratios to the host
     *     TSC that the hardware cannot scale to
     * @throws KvmException if the host cannot scale the TSC, or not to {@code khz}
     */
    public void setTscKhz(int khz) {
        KvmIoctl.KVM_SET_TSC_KHZ.call(rawFd, khz, "needs KVM_CAP_TSC_CONTROL, which hosts without TSC scaling lack");
    }

    /** Tells the guest's kvmclock that the VM was paused, so its watchdogs do not fire ({@code KVM_KVMCLOCK_CTRL}). */
    public void kvmclockCtrl() {
        KvmIoctl.KVM_KVMCLOCK_CTRL.call(rawFd, 0L, "the guest has not enabled kvmclock");
    }

    /**
     * Enables {@code capability} on this vCPU with up to four arguments ({@code KVM_ENABLE_CAP}).
     *
     * @param capability a capability that is enabled per vCPU (see {@link Capability#ENABLE_CAP})
     * @param args its arguments, as the KVM API document gives them for that capability; missing ones are 0
     * @throws IllegalArgumentException if there are more than four arguments
     * @throws KvmException if KVM cannot enable it on this vCPU
     */
    public void enableCap(Capability capability, long... args) {
        Vm.enableCap(rawFd, capability, args, "vCPU");
    }

    /**
     * Unmaps {@code kvm_run} and closes the vCPU. The vCPU's thread must have left {@link #run()} for good; a kick
     * after this does nothing.
     */
    @Override
    public void close() {
        synchronized (bindingLock) {
            if (closed) {
                return;
            }
            closed = true;
            boundThread = null;
            boundTid = 0;
        }
        arena.close();
        fd.close();
    }

    @Override
    public String toString() {
        return "Vcpu[" + id + "]";
    }
}
