// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import java.lang.foreign.MemorySegment;
import java.util.Locale;

/**
 * Why {@link Vcpu#run()} returned: a view of the vCPU's {@code kvm_run}, decoded in place. Each vCPU has one
 * instance of each variant, reused for every exit, so a {@code switch} over the exit allocates nothing:
 *
 * <pre>{@code
 * switch (vcpu.run()) {
 *     case VcpuExit.IoOut out -> ioBus.write(out.port(), out.data());
 *     case VcpuExit.IoIn in -> ioBus.read(in.port(), in.data());
 *     case VcpuExit.MmioWrite w -> mmioBus.write(w.address(), w.data());
 *     case VcpuExit.MmioRead r -> mmioBus.read(r.address(), r.data());
 *     case VcpuExit.Hlt hlt -> ...
 *     default -> ...
 * }
 * }</pre>
 *
 * An exit is valid until the next {@link Vcpu#run()}; data written into a read's {@code data()} is what the guest
 * reads when the vCPU runs again.
 *
 * <p><b>Thread safety:</b> vCPU-thread confined.
 */
public sealed interface VcpuExit {
    /** {@return the {@code KVM_EXIT_*} reason} */
    int reason();

    /** The guest read an I/O port ({@code KVM_EXIT_IO}, {@code KVM_EXIT_IO_IN}): fill {@link #data()}. */
    final class IoIn implements VcpuExit {
        private final KvmRun run;

        IoIn(KvmRun run) {
            this.run = run;
        }

        @Override
        public int reason() {
            return KvmRun.EXIT_IO;
        }

        /** {@return the I/O port ({@code io.port})} */
        public int port() {
            return run.ioPort();
        }

        /** {@return bytes per access: 1, 2 or 4} */
        public int size() {
            return run.ioSize();
        }

        /** {@return accesses: more than 1 for {@code rep insb} and its kind} */
        public int count() {
            return run.ioCount();
        }

        /** {@return where to put the {@code size * count} bytes the guest reads} */
        public MemorySegment data() {
            return run.ioData();
        }

        /**
         * Answers a single access with the low {@link #size()} bytes of {@code value}.
         *
         * @param value what the guest reads, stored little-endian; bits above {@link #size()} bytes are dropped. For a
         *     {@code rep ins} ({@link #count()} above 1) this fills only the first access: write {@link #data()}.
         */
        public void setValue(long value) {
            KvmRun.setValue(run.ioData(), size(), value);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "IoIn[port %#x, size %d, count %d]", port(), size(), count());
        }
    }

    /** The guest wrote an I/O port ({@code KVM_EXIT_IO}, {@code KVM_EXIT_IO_OUT}). */
    final class IoOut implements VcpuExit {
        private final KvmRun run;

        IoOut(KvmRun run) {
            this.run = run;
        }

        @Override
        public int reason() {
            return KvmRun.EXIT_IO;
        }

        /** {@return the I/O port ({@code io.port})} */
        public int port() {
            return run.ioPort();
        }

        /** {@return bytes per access: 1, 2 or 4} */
        public int size() {
            return run.ioSize();
        }

        /** {@return accesses: more than 1 for {@code rep outsb} and its kind} */
        public int count() {
            return run.ioCount();
        }

        /** {@return the {@code size * count} bytes the guest wrote} */
        public MemorySegment data() {
            return run.ioData();
        }

        /** {@return the value of the first access, zero-extended} */
        public long value() {
            return KvmRun.getValue(run.ioData(), size());
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "IoOut[port %#x, size %d, count %d]", port(), size(), count());
        }
    }

    /** The guest read an address no memory slot backs ({@code KVM_EXIT_MMIO}): fill {@link #data()}. */
    final class MmioRead implements VcpuExit {
        private final KvmRun run;

        MmioRead(KvmRun run) {
            this.run = run;
        }

        @Override
        public int reason() {
            return KvmRun.EXIT_MMIO;
        }

        /** {@return the guest-physical address} */
        public long address() {
            return run.mmioPhysAddr();
        }

        /** {@return bytes read: 1 to 8} */
        public int length() {
            return run.mmioLen();
        }

        /** {@return where to put the {@link #length()} bytes the guest reads} */
        public MemorySegment data() {
            return run.mmioData();
        }

        /**
         * Answers with the low {@link #length()} bytes of {@code value}.
         *
         * @param value what the guest reads, stored little-endian; bits above {@link #length()} bytes are dropped
         */
        public void setValue(long value) {
            KvmRun.setValue(run.mmioData(), length(), value);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "MmioRead[%#x, %d bytes]", address(), length());
        }
    }

    /** The guest wrote an address no memory slot backs, or a read-only slot ({@code KVM_EXIT_MMIO}). */
    final class MmioWrite implements VcpuExit {
        private final KvmRun run;

        MmioWrite(KvmRun run) {
            this.run = run;
        }

        @Override
        public int reason() {
            return KvmRun.EXIT_MMIO;
        }

        /** {@return the guest-physical address} */
        public long address() {
            return run.mmioPhysAddr();
        }

        /** {@return bytes written: 1 to 8} */
        public int length() {
            return run.mmioLen();
        }

        /** {@return the bytes written} */
        public MemorySegment data() {
            return run.mmioData();
        }

        /** {@return the value written, zero-extended} */
        public long value() {
            return KvmRun.getValue(run.mmioData(), length());
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "MmioWrite[%#x, %d bytes, %#x]", address(), length(), value());
        }
    }

    /** The guest executed {@code hlt} with no in-kernel irqchip to wait for an interrupt ({@code KVM_EXIT_HLT}). */
    final class Hlt implements VcpuExit {
        Hlt() {}

        @Override
        public int reason() {
            return KvmRun.EXIT_HLT;
        }

        @Override
        public String toString() {
            return "Hlt";
        }
    }

    /** The guest triple-faulted, or otherwise asked for a reset KVM cannot carry out ({@code KVM_EXIT_SHUTDOWN}). */
    final class Shutdown implements VcpuExit {
        Shutdown() {}

        @Override
        public int reason() {
            return KvmRun.EXIT_SHUTDOWN;
        }

        @Override
        public String toString() {
            return "Shutdown";
        }
    }

    /**
     * KVM could not go on ({@code KVM_EXIT_INTERNAL_ERROR}); for an emulation failure
     * ({@code KVM_INTERNAL_ERROR_EMULATION}) KVM may say which instruction bytes it could not emulate.
     */
    final class InternalError implements VcpuExit {
        private final KvmRun run;

        InternalError(KvmRun run) {
            this.run = run;
        }

        @Override
        public int reason() {
            return KvmRun.EXIT_INTERNAL_ERROR;
        }

        /** {@return {@code KVM_INTERNAL_ERROR_*}: 1 emulation, 2 simultaneous exceptions, 3 delivery event, ...} */
        public int suberror() {
            return run.internalSuberror();
        }

        /** {@return how many data words KVM gave (at most 16)} */
        public int ndata() {
            return run.internalNdata();
        }

        /**
         * {@return data word {@code i}, below {@link #ndata()}}
         *
         * @param i the word, 0 to {@link #ndata()} - 1
         * @throws IndexOutOfBoundsException if {@code i} is not below {@link #ndata()}
         */
        public long data(int i) {
            return run.internalData(i);
        }

        /** {@return whether this is an emulation failure and KVM included the instruction bytes} */
        public boolean hasInstructionBytes() {
            return suberror() == LinuxHeaders.KVM_INTERNAL_ERROR_EMULATION()
                    && run.internalNdata() >= 1
                    && (run.emulationFlags() & LinuxHeaders.KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES()) != 0;
        }

        /** {@return the bytes of the instruction KVM failed to emulate, or none} */
        public byte[] instructionBytes() {
            if (!hasInstructionBytes()) {
                return new byte[0];
            }
            byte[] bytes = new byte[run.emulationInstructionSize()];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = run.emulationInstructionByte(i);
            }
            return bytes;
        }

        @Override
        public String toString() {
            StringBuilder text = new StringBuilder("InternalError[suberror ").append(suberror());
            if (hasInstructionBytes()) {
                text.append(", instruction");
                for (byte b : instructionBytes()) {
                    text.append(String.format(Locale.ROOT, " %02x", b & 0xff));
                }
            } else {
                for (int i = 0; i < ndata(); i++) {
                    text.append(String.format(Locale.ROOT, ", data[%d]=%#x", i, data(i)));
                }
            }
            return text.append(']').toString();
        }
    }

    /** The CPU refused to enter the guest ({@code KVM_EXIT_FAIL_ENTRY}), usually an invalid guest state. */
    final class FailEntry implements VcpuExit {
        private final KvmRun run;

        FailEntry(KvmRun run) {
            this.run = run;
        }

        @Override
        public int reason() {
            return KvmRun.EXIT_FAIL_ENTRY;
        }

        /** {@return the hardware's reason (on Intel, the VM-entry failure exit reason)} */
        public long hardwareEntryFailureReason() {
            return run.failEntryReason();
        }

        /** {@return the host CPU the entry failed on} */
        public int cpu() {
            return run.failEntryCpu();
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "FailEntry[reason %#x, cpu %d]", hardwareEntryFailureReason(), cpu());
        }
    }

    /** The guest asked for a shutdown, reset or crash report through firmware (PSCI, ACPI) ({@code KVM_EXIT_SYSTEM_EVENT}). */
    final class SystemEvent implements VcpuExit {
        private final KvmRun run;

        SystemEvent(KvmRun run) {
            this.run = run;
        }

        @Override
        public int reason() {
            return KvmRun.EXIT_SYSTEM_EVENT;
        }

        /** {@return {@code KVM_SYSTEM_EVENT_*}: 1 shutdown, 2 reset, 3 crash, ...} */
        public int type() {
            return run.systemEventType();
        }

        /** {@return how many data words KVM gave} */
        public int ndata() {
            return run.systemEventNdata();
        }

        /**
         * {@return data word {@code i} (word 0 is the legacy {@code flags})}
         *
         * @param i the word, 0 to 15; only words below {@link #ndata()} are KVM's, the rest are what the area held
         * @throws IndexOutOfBoundsException if {@code i} is not in 0 to 15
         */
        public long data(int i) {
            return run.systemEventData(i);
        }

        @Override
        public String toString() {
            return "SystemEvent[type " + type() + "]";
        }
    }

    /** A signal interrupted {@code KVM_RUN}: a {@link Vcpu#kick()}, or an immediate exit that was asked for. */
    final class Intr implements VcpuExit {
        Intr() {}

        @Override
        public int reason() {
            return KvmRun.EXIT_INTR;
        }

        @Override
        public String toString() {
            return "Intr";
        }
    }

    /** The guest raised an exception KVM was asked to report ({@code KVM_EXIT_EXCEPTION}). */
    final class Exception implements VcpuExit {
        private final KvmRun run;

        Exception(KvmRun run) {
            this.run = run;
        }

        @Override
        public int reason() {
            return KvmRun.EXIT_EXCEPTION;
        }

        /** {@return the exception vector ({@code ex.exception}), e.g. 14 for a page fault} */
        public int exception() {
            return run.exceptionNumber();
        }

        /** {@return the exception's error code ({@code ex.error_code}), 0 for vectors that push none} */
        public int errorCode() {
            return run.exceptionErrorCode();
        }

        @Override
        public String toString() {
            return "Exception[vector " + exception() + ", error code " + errorCode() + "]";
        }
    }

    /** A breakpoint or single step set with {@code KVM_SET_GUEST_DEBUG} ({@code KVM_EXIT_DEBUG}; x86 fields). */
    final class Debug implements VcpuExit {
        private final KvmRun run;

        Debug(KvmRun run) {
            this.run = run;
        }

        @Override
        public int reason() {
            return KvmRun.EXIT_DEBUG;
        }

        /** {@return the exception vector ({@code debug.arch.exception}): 1 for {@code #DB}, 3 for {@code #BP}} */
        public int exception() {
            return run.debugException();
        }

        /** {@return the guest address of the instruction ({@code debug.arch.pc})} */
        public long pc() {
            return run.debugPc();
        }

        /** {@return the debug status register DR6: which breakpoint or step fired ({@code debug.arch.dr6})} */
        public long dr6() {
            return run.debugDr6();
        }

        /** {@return the debug control register DR7 ({@code debug.arch.dr7})} */
        public long dr7() {
            return run.debugDr7();
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "Debug[vector %d at %#x]", exception(), pc());
        }
    }

    /** The guest can take an interrupt now, as asked with {@code request_interrupt_window} ({@code KVM_EXIT_IRQ_WINDOW_OPEN}). */
    final class IrqWindowOpen implements VcpuExit {
        IrqWindowOpen() {}

        @Override
        public int reason() {
            return KvmRun.EXIT_IRQ_WINDOW_OPEN;
        }

        @Override
        public String toString() {
            return "IrqWindowOpen";
        }
    }

    /** The guest made a hypercall that KVM hands to userspace ({@code KVM_EXIT_HYPERCALL}). */
    final class Hypercall implements VcpuExit {
        private final KvmRun run;

        Hypercall(KvmRun run) {
            this.run = run;
        }

        @Override
        public int reason() {
            return KvmRun.EXIT_HYPERCALL;
        }

        /** {@return the hypercall number ({@code hypercall.nr})} */
        public long nr() {
            return run.hypercallNr();
        }

        /**
         * {@return argument {@code i}, 0 to 5}
         *
         * @param i the argument, 0 to 5
         * @throws IndexOutOfBoundsException if {@code i} is not in 0 to 5
         */
        public long arg(int i) {
            return run.hypercallArg(i);
        }

        /**
         * Sets the value the guest's hypercall returns.
         *
         * @param value the 64-bit return value ({@code hypercall.ret}), which KVM hands the guest on the next run
         */
        public void setReturnValue(long value) {
            run.hypercallRet(value);
        }

        @Override
        public String toString() {
            return "Hypercall[nr " + nr() + "]";
        }
    }

    /** Any other exit; {@link #reason()} says which ({@code KVM_EXIT_UNKNOWN} carries a hardware reason). */
    final class Unknown implements VcpuExit {
        private final KvmRun run;

        Unknown(KvmRun run) {
            this.run = run;
        }

        @Override
        public int reason() {
            return run.exitReason();
        }

        /** {@return the hardware exit reason, meaningful for {@code KVM_EXIT_UNKNOWN}} */
        public long hardwareExitReason() {
            return run.hardwareExitReason();
        }

        @Override
        public String toString() {
            return String.format(
                    Locale.ROOT, "Unknown[reason %d, hardware reason %#x]", reason(), hardwareExitReason());
        }
    }
}
