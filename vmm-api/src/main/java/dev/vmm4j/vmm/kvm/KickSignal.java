// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.__sigset_t;
import dev.vmm4j.kvm.bindings.timespec;
import dev.vmm4j.vmm.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The real-time signal that kicks a vCPU thread out of {@code KVM_RUN}, and the per-thread signal-mask work around it.
 *
 * <p>How a kick works, with no Java code ever running in signal context: a bound vCPU thread keeps the signal
 * blocked, while the mask it gives KVM ({@code KVM_SET_SIGNAL_MASK}) leaves it unblocked. A kicker sets
 * {@code immediate_exit} and sends the signal with {@code tgkill}: inside {@code KVM_RUN}, KVM sees the pending
 * signal and returns {@code EINTR}; outside it, the signal stays pending (blocked) and {@code immediate_exit} stops the
 * next entry. The vCPU thread then takes the pending signal with {@code sigtimedwait}, so it is never delivered.
 */
final class KickSignal {
    /** SIGRTMIN as this libc defines it (glibc keeps the first kernel real-time signals for itself). */
    static final int SIGNAL = sigrtmin();

    private KickSignal() {}

    /**
     * {@return a sigset holding only the kick signal} Written here rather than with {@code sigemptyset} and
     * {@code sigaddset}: glibc's sigset is a bit array, signal n at bit n - 1, and two downcall handles fewer cost a
     * launcher's start about 6 ms.
     */
    static MemorySegment onlyKick(Arena arena) {
        MemorySegment set = arena.allocate(__sigset_t.layout()); // zeroed: the empty set
        set.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 1L << (SIGNAL - 1));
        return set;
    }

    private static int sigrtmin() {
        int signal = LinuxHeaders.__libc_current_sigrtmin();
        if (signal < 1 || signal > Long.SIZE) { // the kernel's sigset, KVM's and ours, has 64 bits
            throw new IllegalStateException("this libc's SIGRTMIN is " + signal + ", outside the kernel's 64 signals");
        }
        return signal;
    }

    /** {@return a zero timeout for sigtimedwait: take a pending signal, never wait} */
    static MemorySegment zeroTimeout(Arena arena) {
        return arena.allocate(timespec.layout());
    }

    /** Blocks the kick signal in the calling thread; {@return the mask the thread had before}. */
    static MemorySegment blockInCurrentThread(Arena arena) {
        MemorySegment previous = arena.allocate(__sigset_t.layout());
        Libc.sigprocmask(LinuxHeaders.SIG_BLOCK(), onlyKick(arena), previous);
        return previous;
    }

    /** Restores a mask saved by {@link #blockInCurrentThread}. */
    static void restoreInCurrentThread(MemorySegment previous) {
        Libc.sigprocmask(LinuxHeaders.SIG_SETMASK(), previous, MemorySegment.NULL);
    }

    /** {@return the kernel sigset (first 64 bits of glibc's) of {@code mask} with the kick signal unblocked} */
    static long kernelMaskWithKickUnblocked(MemorySegment mask) {
        long bits = mask.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
        return bits & ~(1L << (SIGNAL - 1));
    }

    /** Takes every pending kick signal of the calling thread (which must block it). */
    static void drainPending(MemorySegment onlyKick, MemorySegment zeroTimeout) {
        while (Libc.sigtimedwait(onlyKick, zeroTimeout) == SIGNAL) {
            // One pending instance per sigtimedwait; real-time signals queue.
        }
    }

    /** Sends the kick signal to thread {@code tid} of this process; {@return whether it was sent} */
    static boolean send(int tid) {
        return Libc.tgkill(tid, SIGNAL) == 0;
    }
}
