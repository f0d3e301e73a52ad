// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.kvm_debug_exit_arch;
import dev.vmm4j.kvm.bindings.kvm_run;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.Objects;

/**
 * A flyweight over one vCPU's mmap'ed {@code struct kvm_run}: KVM writes the exit there, userspace answers there
 * (data for an I/O or MMIO read), and another thread may ask for an exit through {@code immediate_exit}.
 * Created once per vCPU and re-read after every {@code KVM_RUN}; nothing here allocates per exit.
 *
 * <pre>
 *  offset  field (from the generated kvm_run layout)
 *  ------  --------------------------------------------------------------------------------
 *       0  request_interrupt_window  u8
 *       1  immediate_exit            u8   written by other threads (release), read by KVM
 *       8  exit_reason               u32  KVM_EXIT_*
 *      32  union (one arm per exit reason):
 *            io:   direction u8 | size u8 | port u16 | count u32 | data_offset u64
 *                  (the data is at run + data_offset, size * count bytes: the PIO page)
 *            mmio: phys_addr u64 | data u8[8] | len u32 | is_write u8
 *            internal / emulation_failure: suberror u32 | ndata u32 | data u64[16] or flags, insn bytes
 *            fail_entry: hardware_entry_failure_reason u64 | cpu u32
 *            system_event: type u32 | ndata u32 | data u64[16]
 * </pre>
 *
 * <p><b>Thread safety:</b> vCPU-thread confined, except {@link #requestImmediateExit()}, which any thread may call.
 */
public final class KvmRun {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle BYTE = ValueLayout.JAVA_BYTE.varHandle();

    private static final long EXIT_REASON = kvm_run.exit_reason$offset();
    private static final long IMMEDIATE_EXIT = kvm_run.immediate_exit$offset();
    private static final long HW_EXIT_REASON = kvm_run.hw$offset() + kvm_run.hw.hardware_exit_reason$offset();
    private static final long IO_DIRECTION = kvm_run.io$offset() + kvm_run.io.direction$offset();
    private static final long IO_SIZE = kvm_run.io$offset() + kvm_run.io.size$offset();
    private static final long IO_PORT = kvm_run.io$offset() + kvm_run.io.port$offset();
    private static final long IO_COUNT = kvm_run.io$offset() + kvm_run.io.count$offset();
    private static final long IO_DATA_OFFSET = kvm_run.io$offset() + kvm_run.io.data_offset$offset();
    private static final long MMIO_PHYS_ADDR = kvm_run.mmio$offset() + kvm_run.mmio.phys_addr$offset();
    private static final long MMIO_DATA = kvm_run.mmio$offset() + kvm_run.mmio.data$offset();
    private static final long MMIO_LEN = kvm_run.mmio$offset() + kvm_run.mmio.len$offset();
    private static final long MMIO_IS_WRITE = kvm_run.mmio$offset() + kvm_run.mmio.is_write$offset();
    private static final long FAIL_ENTRY_REASON =
            kvm_run.fail_entry$offset() + kvm_run.fail_entry.hardware_entry_failure_reason$offset();
    private static final long FAIL_ENTRY_CPU = kvm_run.fail_entry$offset() + kvm_run.fail_entry.cpu$offset();
    private static final long EX_EXCEPTION = kvm_run.ex$offset() + kvm_run.ex.exception$offset();
    private static final long EX_ERROR_CODE = kvm_run.ex$offset() + kvm_run.ex.error_code$offset();
    private static final long INTERNAL_SUBERROR = kvm_run.internal$offset() + kvm_run.internal.suberror$offset();
    private static final long INTERNAL_NDATA = kvm_run.internal$offset() + kvm_run.internal.ndata$offset();
    private static final long INTERNAL_DATA = kvm_run.internal$offset() + kvm_run.internal.data$offset();
    private static final int INTERNAL_DATA_MAX =
            (int) kvm_run.internal.data$layout().elementCount();
    private static final long EMULATION_FLAGS =
            kvm_run.emulation_failure$offset() + kvm_run.emulation_failure.flags$offset();
    private static final long EMULATION_INSN_SIZE =
            kvm_run.emulation_failure$offset() + kvm_run.emulation_failure.insn_size$offset();
    private static final long EMULATION_INSN_BYTES =
            kvm_run.emulation_failure$offset() + kvm_run.emulation_failure.insn_bytes$offset();
    private static final int EMULATION_INSN_MAX =
            (int) kvm_run.emulation_failure.insn_bytes$layout().byteSize();
    private static final long SYSTEM_EVENT_TYPE = kvm_run.system_event$offset() + kvm_run.system_event.type$offset();
    private static final long SYSTEM_EVENT_NDATA = kvm_run.system_event$offset() + kvm_run.system_event.ndata$offset();
    private static final long SYSTEM_EVENT_DATA = kvm_run.system_event$offset() + kvm_run.system_event.data$offset();
    private static final int SYSTEM_EVENT_DATA_MAX =
            (int) kvm_run.system_event.data$layout().elementCount();
    private static final long DEBUG_ARCH = kvm_run.debug$offset() + kvm_run.debug.arch$offset();
    private static final long HYPERCALL_NR = kvm_run.hypercall$offset() + kvm_run.hypercall.nr$offset();
    private static final long HYPERCALL_ARGS = kvm_run.hypercall$offset() + kvm_run.hypercall.args$offset();
    private static final long HYPERCALL_RET = kvm_run.hypercall$offset() + kvm_run.hypercall.ret$offset();
    /** Where KVM puts port I/O data on x86: the page after kvm_run ({@code KVM_PIO_PAGE_OFFSET}). */
    private static final long PIO_PAGE = LinuxHeaders.KVM_PIO_PAGE_OFFSET() * 4096L;

    static final int EXIT_UNKNOWN = LinuxHeaders.KVM_EXIT_UNKNOWN();
    static final int EXIT_EXCEPTION = LinuxHeaders.KVM_EXIT_EXCEPTION();
    static final int EXIT_IO = LinuxHeaders.KVM_EXIT_IO();
    static final int EXIT_HYPERCALL = LinuxHeaders.KVM_EXIT_HYPERCALL();
    static final int EXIT_DEBUG = LinuxHeaders.KVM_EXIT_DEBUG();
    static final int EXIT_HLT = LinuxHeaders.KVM_EXIT_HLT();
    static final int EXIT_MMIO = LinuxHeaders.KVM_EXIT_MMIO();
    static final int EXIT_IRQ_WINDOW_OPEN = LinuxHeaders.KVM_EXIT_IRQ_WINDOW_OPEN();
    static final int EXIT_SHUTDOWN = LinuxHeaders.KVM_EXIT_SHUTDOWN();
    static final int EXIT_FAIL_ENTRY = LinuxHeaders.KVM_EXIT_FAIL_ENTRY();
    static final int EXIT_INTR = LinuxHeaders.KVM_EXIT_INTR();
    static final int EXIT_INTERNAL_ERROR = LinuxHeaders.KVM_EXIT_INTERNAL_ERROR();
    static final int EXIT_SYSTEM_EVENT = LinuxHeaders.KVM_EXIT_SYSTEM_EVENT();

    private final MemorySegment run;
    /** Preallocated views of the data area for the common sizes, so answering an exit allocates nothing. */
    private final MemorySegment[] pioData = new MemorySegment[9];

    private final MemorySegment[] mmioData = new MemorySegment[9];

    private final VcpuExit.IoIn ioIn = new VcpuExit.IoIn(this);
    private final VcpuExit.IoOut ioOut = new VcpuExit.IoOut(this);
    private final VcpuExit.MmioRead mmioRead = new VcpuExit.MmioRead(this);
    private final VcpuExit.MmioWrite mmioWrite = new VcpuExit.MmioWrite(this);
    private final VcpuExit.Hlt hlt = new VcpuExit.Hlt();
    private final VcpuExit.Shutdown shutdown = new VcpuExit.Shutdown();
    private final VcpuExit.InternalError internalError = new VcpuExit.InternalError(this);
    private final VcpuExit.FailEntry failEntry = new VcpuExit.FailEntry(this);
    private final VcpuExit.SystemEvent systemEvent = new VcpuExit.SystemEvent(this);
    private final VcpuExit.Intr intr = new VcpuExit.Intr();
    private final VcpuExit.Exception exception = new VcpuExit.Exception(this);
    private final VcpuExit.Debug debug = new VcpuExit.Debug(this);
    private final VcpuExit.IrqWindowOpen irqWindowOpen = new VcpuExit.IrqWindowOpen();
    private final VcpuExit.Hypercall hypercall = new VcpuExit.Hypercall(this);
    private final VcpuExit.Unknown unknown = new VcpuExit.Unknown(this);

    private KvmRun(MemorySegment run) {
        this.run = run;
        for (int size : new int[] {1, 2, 4, 8}) {
            if (PIO_PAGE + size <= run.byteSize()) {
                pioData[size] = run.asSlice(PIO_PAGE, size);
            }
            mmioData[size] = run.asSlice(MMIO_DATA, size);
        }
    }

    /**
     * Wraps {@code run}, the mapping of a vCPU fd (or, in tests and benchmarks, any native memory laid out as
     * {@code struct kvm_run}, with the PIO page after it).
     *
     * @param run the whole mapping, {@code KVM_GET_VCPU_MMAP_SIZE} bytes; not copied, and it must outlive the
     *     flyweight. A mapping without the PIO page works, but then port I/O data is sliced per exit.
     * @return a flyweight whose exit variants are all allocated now, once
     * @throws IllegalArgumentException if {@code run} is smaller than {@code struct kvm_run}
     */
    public static KvmRun wrap(MemorySegment run) {
        Objects.requireNonNull(run, "run");
        if (run.byteSize() < kvm_run.sizeof()) {
            throw new IllegalArgumentException(
                    "kvm_run needs at least " + kvm_run.sizeof() + " bytes, got " + run.byteSize());
        }
        return new KvmRun(run);
    }

    /** {@return the whole mapping} */
    public MemorySegment segment() {
        return run;
    }

    /** {@return the exit that the last {@code KVM_RUN} ended with, decoded in place} */
    public VcpuExit exit() {
        int reason = exitReason();
        if (reason == EXIT_IO) {
            return ioDirection() == LinuxHeaders.KVM_EXIT_IO_OUT() ? ioOut : ioIn;
        } else if (reason == EXIT_MMIO) {
            return mmioIsWrite() ? mmioWrite : mmioRead;
        } else if (reason == EXIT_HLT) {
            return hlt;
        } else if (reason == EXIT_SHUTDOWN) {
            return shutdown;
        } else if (reason == EXIT_INTERNAL_ERROR) {
            return internalError;
        } else if (reason == EXIT_FAIL_ENTRY) {
            return failEntry;
        } else if (reason == EXIT_SYSTEM_EVENT) {
            return systemEvent;
        } else if (reason == EXIT_INTR) {
            return intr;
        } else if (reason == EXIT_EXCEPTION) {
            return exception;
        } else if (reason == EXIT_DEBUG) {
            return debug;
        } else if (reason == EXIT_IRQ_WINDOW_OPEN) {
            return irqWindowOpen;
        } else if (reason == EXIT_HYPERCALL) {
            return hypercall;
        }
        return unknown;
    }

    /** {@return the exit for a {@code KVM_RUN} that a signal interrupted (EINTR)} */
    VcpuExit.Intr intr() {
        return intr;
    }

    // ---- fields -----------------------------------------------------------------------------------------------

    /** {@return {@code exit_reason}, a {@code KVM_EXIT_*} value} */
    public int exitReason() {
        return run.get(ValueLayout.JAVA_INT, EXIT_REASON);
    }

    /** {@return {@code hw.hardware_exit_reason}, for {@code KVM_EXIT_UNKNOWN}} */
    public long hardwareExitReason() {
        return run.get(ValueLayout.JAVA_LONG, HW_EXIT_REASON);
    }

    /**
     * Asks KVM to return from the next (or current, once kicked) {@code KVM_RUN} at once with {@code EINTR}.
     * Any thread may call this: it is a release store that KVM reads on entry.
     */
    public void requestImmediateExit() {
        BYTE.setRelease(run, IMMEDIATE_EXIT, (byte) 1);
    }

    /** Clears {@code immediate_exit} so that {@code KVM_RUN} runs the guest again. */
    public void clearImmediateExit() {
        BYTE.setRelease(run, IMMEDIATE_EXIT, (byte) 0);
    }

    /** {@return whether {@code immediate_exit} is set} */
    public boolean immediateExitRequested() {
        return (byte) BYTE.getAcquire(run, IMMEDIATE_EXIT) != 0;
    }

    /** {@return {@code io.direction}: {@code KVM_EXIT_IO_IN} (0) or {@code KVM_EXIT_IO_OUT} (1)} */
    public int ioDirection() {
        return run.get(ValueLayout.JAVA_BYTE, IO_DIRECTION) & 0xff;
    }

    /** {@return {@code io.size}: bytes per access, 1, 2 or 4} */
    public int ioSize() {
        return run.get(ValueLayout.JAVA_BYTE, IO_SIZE) & 0xff;
    }

    /** {@return {@code io.port}} */
    public int ioPort() {
        return run.get(U16, IO_PORT) & 0xffff;
    }

    /** {@return {@code io.count}: accesses, more than 1 for string instructions (rep outsb)} */
    public int ioCount() {
        return run.get(U32, IO_COUNT);
    }

    /** {@return {@code io.data_offset}: where in this mapping the data is} */
    public long ioDataOffset() {
        return run.get(U64, IO_DATA_OFFSET);
    }

    /**
     * {@return the port I/O data, {@code size * count} bytes: {@code count} items of {@code size} bytes each, in the
     * order of the accesses} Checked against the mapping; for a single access of 1, 2 or 4 bytes at the usual place
     * this allocates nothing.
     *
     * @throws KvmException if the size is not 1, 2 or 4, or the data does not lie within the mapping
     */
    public MemorySegment ioData() {
        long offset = ioDataOffset();
        int size = ioSize();
        if (size != 1 && size != 2 && size != 4) {
            throw new KvmException(
                    "KVM_RUN", "KVM reported a port I/O access of " + size + " bytes; it is always 1, 2 or 4");
        }
        long length = (long) size * Integer.toUnsignedLong(ioCount());
        if (offset == PIO_PAGE && length <= 8 && pioData[(int) length] != null) {
            return pioData[(int) length];
        }
        if (offset < 0 || length > run.byteSize() || offset > run.byteSize() - length) {
            throw new KvmException(
                    "KVM_RUN",
                    String.format(
                            Locale.ROOT,
                            "KVM reported port I/O data at offset %#x, %d bytes, outside the %d-byte kvm_run mapping",
                            offset,
                            length,
                            run.byteSize()));
        }
        return run.asSlice(offset, length);
    }

    /** {@return {@code mmio.phys_addr}} */
    public long mmioPhysAddr() {
        return run.get(U64, MMIO_PHYS_ADDR);
    }

    /** {@return {@code mmio.len}: 1 to 8 bytes} */
    public int mmioLen() {
        return run.get(U32, MMIO_LEN);
    }

    /** {@return {@code mmio.is_write}} */
    public boolean mmioIsWrite() {
        return run.get(ValueLayout.JAVA_BYTE, MMIO_IS_WRITE) != 0;
    }

    /** {@return {@code mmio.data}, {@link #mmioLen()} bytes; allocates nothing} */
    public MemorySegment mmioData() {
        int length = mmioLen();
        if (length < 1 || length > 8) {
            throw new KvmException(
                    "KVM_RUN", "KVM reported an MMIO access of " + length + " bytes; it never exceeds 8");
        }
        MemorySegment data = mmioData[length];
        return data != null ? data : run.asSlice(MMIO_DATA, length);
    }

    long failEntryReason() {
        return run.get(ValueLayout.JAVA_LONG, FAIL_ENTRY_REASON);
    }

    int failEntryCpu() {
        return run.get(ValueLayout.JAVA_INT, FAIL_ENTRY_CPU);
    }

    int exceptionNumber() {
        return run.get(ValueLayout.JAVA_INT, EX_EXCEPTION);
    }

    int exceptionErrorCode() {
        return run.get(ValueLayout.JAVA_INT, EX_ERROR_CODE);
    }

    int internalSuberror() {
        return run.get(ValueLayout.JAVA_INT, INTERNAL_SUBERROR);
    }

    int internalNdata() {
        return Math.min(Math.max(run.get(ValueLayout.JAVA_INT, INTERNAL_NDATA), 0), INTERNAL_DATA_MAX);
    }

    long internalData(int i) {
        Objects.checkIndex(i, internalNdata());
        return run.get(ValueLayout.JAVA_LONG, INTERNAL_DATA + 8L * i);
    }

    long emulationFlags() {
        return run.get(ValueLayout.JAVA_LONG, EMULATION_FLAGS);
    }

    int emulationInstructionSize() {
        return Math.min(run.get(ValueLayout.JAVA_BYTE, EMULATION_INSN_SIZE) & 0xff, EMULATION_INSN_MAX);
    }

    byte emulationInstructionByte(int i) {
        Objects.checkIndex(i, emulationInstructionSize());
        return run.get(ValueLayout.JAVA_BYTE, EMULATION_INSN_BYTES + i);
    }

    int systemEventType() {
        return run.get(ValueLayout.JAVA_INT, SYSTEM_EVENT_TYPE);
    }

    int systemEventNdata() {
        return Math.min(Math.max(run.get(ValueLayout.JAVA_INT, SYSTEM_EVENT_NDATA), 0), SYSTEM_EVENT_DATA_MAX);
    }

    long systemEventData(int i) {
        Objects.checkIndex(i, SYSTEM_EVENT_DATA_MAX);
        return run.get(ValueLayout.JAVA_LONG, SYSTEM_EVENT_DATA + 8L * i);
    }

    int debugException() {
        return run.get(ValueLayout.JAVA_INT, DEBUG_ARCH + kvm_debug_exit_arch.exception$offset());
    }

    long debugPc() {
        return run.get(ValueLayout.JAVA_LONG, DEBUG_ARCH + kvm_debug_exit_arch.pc$offset());
    }

    long debugDr6() {
        return run.get(ValueLayout.JAVA_LONG, DEBUG_ARCH + kvm_debug_exit_arch.dr6$offset());
    }

    long debugDr7() {
        return run.get(ValueLayout.JAVA_LONG, DEBUG_ARCH + kvm_debug_exit_arch.dr7$offset());
    }

    long hypercallNr() {
        return run.get(ValueLayout.JAVA_LONG, HYPERCALL_NR);
    }

    long hypercallArg(int i) {
        Objects.checkIndex(i, 6);
        return run.get(ValueLayout.JAVA_LONG, HYPERCALL_ARGS + 8L * i);
    }

    void hypercallRet(long value) {
        run.set(ValueLayout.JAVA_LONG, HYPERCALL_RET, value);
    }

    /** {@return the little-endian value of the first {@code size} (1, 2, 4 or 8) bytes of {@code data}, zero-extended} */
    static long getValue(MemorySegment data, int size) {
        return switch (size) {
            case 1 -> data.get(ValueLayout.JAVA_BYTE, 0) & 0xffL;
            case 2 -> data.get(U16, 0) & 0xffffL;
            case 4 -> data.get(U32, 0) & 0xffff_ffffL;
            case 8 -> data.get(U64, 0);
            default -> getBytes(data, size);
        };
    }

    /** Stores the low {@code size} bytes of {@code value} little-endian at the start of {@code data}. */
    static void setValue(MemorySegment data, int size, long value) {
        switch (size) {
            case 1 -> data.set(ValueLayout.JAVA_BYTE, 0, (byte) value);
            case 2 -> data.set(U16, 0, (short) value);
            case 4 -> data.set(U32, 0, (int) value);
            case 8 -> data.set(U64, 0, value);
            default -> {
                for (int i = 0; i < Math.min(size, 8); i++) {
                    data.set(ValueLayout.JAVA_BYTE, i, (byte) (value >>> (8 * i)));
                }
            }
        }
    }

    private static long getBytes(MemorySegment data, int size) {
        long value = 0;
        for (int i = Math.min(size, 8) - 1; i >= 0; i--) {
            value = (value << 8) | (data.get(ValueLayout.JAVA_BYTE, i) & 0xffL);
        }
        return value;
    }
}
