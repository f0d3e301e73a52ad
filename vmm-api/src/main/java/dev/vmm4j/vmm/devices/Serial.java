// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.devices;

import dev.vmm4j.vmm.bus.BusDevice;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;

/**
 * A 16550A UART, as Linux's 8250 driver expects it: eight registers (offsets 0-7 from its base, the I/O ports
 * 0x3f8-0x3ff for COM1 on x86 or an MMIO window on aarch64), transmit-holding-empty and received-data interrupts,
 * the divisor latch, FIFO control and loopback.
 *
 * <pre>
 *  offset  read                       write
 *  0       RBR receive buffer         THR transmit holding     (DLAB=1: DLL divisor low)
 *  1       IER interrupt enable       IER                      (DLAB=1: DLM divisor high)
 *  2       IIR interrupt identity     FCR FIFO control
 *  3       LCR line control           LCR (bit 7: DLAB)
 *  4       MCR modem control          MCR (bit 4: loopback)
 *  5       LSR line status            -
 *  6       MSR modem status           -
 *  7       SCR scratch                SCR
 * </pre>
 *
 * Output goes to the embedder's {@link OutputStream} as the guest writes it; input comes through
 * {@link #queueInput(byte[])} or an {@link InputStream} given to {@link #connectInput}, and waits in a bounded buffer
 * (a full buffer holds the input back, never drops it). An output stream that fails is reported once and then
 * skipped: a broken console never stops the guest.
 *
 * <p><b>Thread safety:</b> safe for concurrent use (vCPU threads, the input thread, the embedder).
 */
public final class Serial implements BusDevice, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Serial.class.getName());

    static final int DATA = 0;
    static final int IER = 1;
    static final int IIR_FCR = 2;
    static final int LCR = 3;
    static final int MCR = 4;
    static final int LSR = 5;
    static final int MSR = 6;
    static final int SCR = 7;

    static final int IER_RECEIVED_DATA = 0x01;
    static final int IER_THR_EMPTY = 0x02;
    private static final int IER_MASK = 0x0f;
    static final int IIR_NONE = 0x01;
    static final int IIR_THR_EMPTY = 0x02;
    static final int IIR_RECEIVED_DATA = 0x04;
    static final int IIR_FIFO_ENABLED = 0xc0;
    static final int FCR_FIFO_ENABLE = 0x01;
    static final int LCR_DLAB = 0x80;
    static final int MCR_LOOPBACK = 0x10;
    static final int LSR_DATA_READY = 0x01;
    static final int LSR_THR_EMPTY = 0x20;
    static final int LSR_IDLE = 0x40;
    static final int MSR_CTS = 0x10;
    static final int MSR_DSR = 0x20;
    static final int MSR_RI = 0x40;
    static final int MSR_DCD = 0x80;
    /** Input bytes held for the guest before the input thread waits. */
    static final int INPUT_CAPACITY = 64 * 1024;

    private final Interrupt interrupt;
    private final OutputStream output;
    private final String name;

    // Guarded by this.
    private final ArrayDeque<Byte> input = new ArrayDeque<>();
    private int ier;
    private int lcr;
    private int mcr;
    private int scr;
    private int fcr;
    private int divisorLow = 0x0c; // 9600 baud, as firmware leaves it
    private int divisorHigh;
    private boolean thrEmptyPending;
    private boolean outputBroken;
    private boolean closed;
    private Thread inputThread;

    /**
     * A UART named {@code name} (in log messages) that writes to {@code output} and raises {@code interrupt}.
     *
     * @param name names the port in log messages and its input thread ({@code <name>-input}), such as {@code ttyS0}
     * @param interrupt raised for received data and an empty transmitter, when the guest enabled them in IER; called
     *     on vCPU threads and the input thread
     * @param output gets each byte the guest transmits, as it is written; it stays the caller's: {@link #close()}
     *     flushes it but does not close it
     */
    public Serial(String name, Interrupt interrupt, OutputStream output) {
        this.name = Objects.requireNonNull(name, "name");
        this.interrupt = Objects.requireNonNull(interrupt, "interrupt");
        this.output = Objects.requireNonNull(output, "output");
    }

    @Override
    public void read(long offset, MemorySegment data) {
        if (data.byteSize() == 0) {
            return;
        }
        int value = readRegister(offset);
        data.fill((byte) 0);
        data.set(ValueLayout.JAVA_BYTE, 0, (byte) value);
    }

    @Override
    public void write(long offset, MemorySegment data) {
        if (data.byteSize() == 0) {
            return;
        }
        writeRegister(offset, data.get(ValueLayout.JAVA_BYTE, 0) & 0xff);
    }

    synchronized int readRegister(long offset) {
        boolean dlab = (lcr & LCR_DLAB) != 0;
        return switch ((int) offset) {
            case DATA -> dlab ? divisorLow : receive();
            case IER -> dlab ? divisorHigh : ier;
            case IIR_FCR -> interruptIdentity();
            case LCR -> lcr;
            case MCR -> mcr;
            case LSR -> LSR_THR_EMPTY | LSR_IDLE | (input.isEmpty() ? 0 : LSR_DATA_READY);
            case MSR -> modemStatus();
            case SCR -> scr;
            default -> 0; // beyond the eight registers: the guest reads nothing there
        };
    }

    private void writeRegister(long offset, int value) {
        boolean raise;
        byte transmitted = 0;
        boolean transmit = false;
        synchronized (this) {
            boolean dlab = (lcr & LCR_DLAB) != 0;
            raise = switch ((int) offset) {
                case DATA -> {
                    if (dlab) {
                        divisorLow = value;
                        yield false;
                    }
                    if ((mcr & MCR_LOOPBACK) != 0) {
                        yield enqueue((byte) value);
                    }
                    transmitted = (byte) value;
                    transmit = true;
                    thrEmptyPending = true; // the byte is gone at once: the holding register is empty again
                    yield (ier & IER_THR_EMPTY) != 0;
                }
                case IER -> {
                    if (dlab) {
                        divisorHigh = value;
                        yield false;
                    }
                    boolean enablingThrEmpty = (value & IER_THR_EMPTY) != 0 && (ier & IER_THR_EMPTY) == 0;
                    ier = value & IER_MASK;
                    if (enablingThrEmpty) {
                        thrEmptyPending = true; // the holding register is empty, and Linux waits to hear so
                    }
                    yield (interruptIdentity(false) & IIR_NONE) == 0;
                }
                case IIR_FCR -> {
                    fcr = value;
                    if ((value & 0x02) != 0) {
                        input.clear(); // FCR bit 1: clear the receive FIFO
                    }
                    yield false;
                }
                case LCR -> {
                    lcr = value;
                    yield false;
                }
                case MCR -> {
                    mcr = value & 0x1f;
                    yield false;
                }
                case SCR -> {
                    scr = value;
                    yield false;
                }
                default -> false; // LSR and MSR are read-only; beyond offset 7 there is nothing
            };
        }
        // Outside the lock: a slow console must not hold up the input thread or other vCPUs' register reads.
        if (transmit) {
            emit(transmitted);
        }
        if (raise) {
            interrupt.trigger();
        }
    }

    private void emit(byte value) {
        synchronized (output) {
            if (outputBroken) {
                return;
            }
            try {
                output.write(value);
                if (value == '\n') {
                    output.flush();
                }
            } catch (IOException e) {
                outputBroken = true;
                LOG.log(System.Logger.Level.WARNING, name + ": console output failed, further output is dropped", e);
            }
        }
    }

    private int receive() {
        Byte value = input.poll();
        if (input.size() == INPUT_CAPACITY - 1) {
            notifyAll(); // room again for a waiting input thread
        }
        return value == null ? 0 : value & 0xff;
    }

    private int interruptIdentity() {
        return interruptIdentity(true);
    }

    /** {@return IIR: received data first, then THR empty; reading it ({@code acknowledge}) clears a THR-empty interrupt} */
    private int interruptIdentity(boolean acknowledge) {
        int fifo = (fcr & FCR_FIFO_ENABLE) != 0 ? IIR_FIFO_ENABLED : 0;
        if ((ier & IER_RECEIVED_DATA) != 0 && !input.isEmpty()) {
            return IIR_RECEIVED_DATA | fifo;
        }
        if ((ier & IER_THR_EMPTY) != 0 && thrEmptyPending) {
            if (acknowledge) {
                thrEmptyPending = false;
            }
            return IIR_THR_EMPTY | fifo;
        }
        return IIR_NONE | fifo;
    }

    private int modemStatus() {
        if ((mcr & MCR_LOOPBACK) == 0) {
            return MSR_DCD | MSR_DSR | MSR_CTS;
        }
        // Loopback wires the modem-control outputs back to the status inputs.
        int status = 0;
        if ((mcr & 0x02) != 0) {
            status |= MSR_CTS; // RTS
        }
        if ((mcr & 0x01) != 0) {
            status |= MSR_DSR; // DTR
        }
        if ((mcr & 0x04) != 0) {
            status |= MSR_RI; // OUT1
        }
        if ((mcr & 0x08) != 0) {
            status |= MSR_DCD; // OUT2
        }
        return status;
    }

    /** Queues one byte under the lock; {@return whether it raises the received-data interrupt} */
    private boolean enqueue(byte value) {
        boolean wasEmpty = input.isEmpty();
        input.add(value);
        return wasEmpty && (ier & IER_RECEIVED_DATA) != 0;
    }

    /**
     * Hands {@code bytes} to the guest as received data, waiting while the input buffer is full.
     *
     * @param bytes queued in order; read as they are queued, not kept. Once the UART is closed, the rest are dropped
     *     and the method returns
     * @throws InterruptedException if interrupted while waiting; bytes queued before that stay queued
     */
    public void queueInput(byte[] bytes) throws InterruptedException {
        for (byte b : bytes) {
            boolean raise;
            synchronized (this) {
                while (input.size() >= INPUT_CAPACITY && !closed) {
                    wait();
                }
                if (closed) {
                    return;
                }
                raise = enqueue(b);
            }
            if (raise) {
                interrupt.trigger();
            }
        }
    }

    /**
     * Feeds the guest what {@code in} yields, from a thread {@code threads} makes (named {@code <name>-input} here, and
     * a daemon, since a read blocked in the stream may never return), until end of stream, an error, or
     * {@link #close()}. In a VM, {@code threads} is the device context's factory, so that the thread's death ends the
     * VM. The stream stays the caller's to close.
     *
     * @param in read in chunks of up to 256 bytes, each queued as {@link #queueInput} does; a read that fails ends the
     *     input with a warning in the log
     * @param threads makes the one input thread, which this method names, marks as a daemon and starts
     * @throws IllegalStateException if an input stream was connected before
     */
    public synchronized void connectInput(InputStream in, ThreadFactory threads) {
        Objects.requireNonNull(in, "in");
        Objects.requireNonNull(threads, "threads");
        if (inputThread != null) {
            throw new IllegalStateException(name + " already has an input stream");
        }
        Thread thread = threads.newThread(() -> pump(in));
        thread.setName(name + "-input");
        thread.setDaemon(true);
        inputThread = thread;
        thread.start();
    }

    private void pump(InputStream in) {
        byte[] buffer = new byte[256];
        try {
            int n;
            while (!isClosed() && (n = in.read(buffer)) > 0) {
                queueInput(Arrays.copyOf(buffer, n));
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, name + ": console input failed; the guest gets no more input", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized boolean isClosed() {
        return closed;
    }

    /** Stops taking input (a waiting {@link #queueInput} returns) and flushes the output. */
    @Override
    public void close() {
        Thread thread;
        synchronized (this) {
            closed = true;
            notifyAll();
            thread = inputThread;
        }
        if (thread != null) {
            thread.interrupt(); // a read blocked in the stream may not see it; the thread is a daemon
        }
        synchronized (output) {
            try {
                output.flush();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, name + ": flushing console output failed", e);
            }
        }
    }

    @Override
    public String toString() {
        return "Serial[" + name + "]";
    }
}
