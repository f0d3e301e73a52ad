// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.vmm.testing.Threads;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SerialTest {
    private final AtomicInteger interrupts = new AtomicInteger();
    private final ByteArrayOutputStream console = new ByteArrayOutputStream();
    private final Serial serial = new Serial("ttyS0", interrupts::incrementAndGet, console);

    private void out(int offset, int value) {
        MemorySegment data = MemorySegment.ofArray(new byte[] {(byte) value});
        serial.write(offset, data);
    }

    private int in(int offset) {
        MemorySegment data = MemorySegment.ofArray(new byte[1]);
        serial.read(offset, data);
        return data.get(ValueLayout.JAVA_BYTE, 0) & 0xff;
    }

    @Test
    void transmittedBytesReachTheConsoleAndTheLineIsAlwaysReady() {
        for (byte b : "hi\n".getBytes()) {
            out(Serial.DATA, b);
        }
        assertEquals("hi\n", console.toString());
        assertEquals(Serial.LSR_THR_EMPTY | Serial.LSR_IDLE, in(Serial.LSR));
        assertEquals(0, interrupts.get(), "no interrupt while IER is 0");
    }

    @Test
    void thrEmptyInterruptFiresOnEnableAndAfterEachByteAndIsAcknowledgedByReadingIir() {
        out(Serial.IER, Serial.IER_THR_EMPTY);
        assertEquals(1, interrupts.get(), "enabling THRE says at once that the holding register is empty");
        assertEquals(Serial.IIR_THR_EMPTY, in(Serial.IIR_FCR));
        assertEquals(Serial.IIR_NONE, in(Serial.IIR_FCR), "reading IIR acknowledged it");
        out(Serial.DATA, 'x');
        assertEquals(2, interrupts.get());
        assertEquals(Serial.IIR_THR_EMPTY, in(Serial.IIR_FCR));
    }

    @Test
    void receivedDataRaisesAnInterruptAndDrainsInOrder() throws InterruptedException {
        out(Serial.IER, Serial.IER_RECEIVED_DATA);
        assertEquals(0, interrupts.get());
        serial.queueInput("ab".getBytes());
        assertEquals(1, interrupts.get(), "one edge when data becomes available");
        assertEquals(Serial.LSR_DATA_READY, in(Serial.LSR) & Serial.LSR_DATA_READY);
        assertEquals(Serial.IIR_RECEIVED_DATA, in(Serial.IIR_FCR));
        assertEquals('a', in(Serial.DATA));
        assertEquals('b', in(Serial.DATA));
        assertEquals(0, in(Serial.LSR) & Serial.LSR_DATA_READY);
        assertEquals(Serial.IIR_NONE, in(Serial.IIR_FCR));
        assertEquals(0, in(Serial.DATA), "an empty buffer reads as 0");
    }

    @Test
    void fifoControlReportsFifosAndClearsTheReceiveFifo() throws InterruptedException {
        serial.queueInput("zz".getBytes());
        out(Serial.IIR_FCR, 0x07); // enable, clear receive, clear transmit
        assertEquals(Serial.IIR_NONE | Serial.IIR_FIFO_ENABLED, in(Serial.IIR_FCR));
        assertEquals(0, in(Serial.LSR) & Serial.LSR_DATA_READY);
        out(Serial.IER, Serial.IER_THR_EMPTY);
        assertEquals(1, interrupts.get(), "a pending THRE with FIFOs on still raises the line");
    }

    @Test
    void divisorLatchShadowsDataAndIer() {
        out(Serial.LCR, Serial.LCR_DLAB | 0x03);
        out(Serial.DATA, 0x01);
        out(Serial.IER, 0x00);
        assertEquals(0x01, in(Serial.DATA));
        assertEquals(0x00, in(Serial.IER));
        assertEquals("", console.toString(), "divisor writes are not output");
        out(Serial.LCR, 0x03);
        out(Serial.DATA, 'k');
        assertEquals("k", console.toString());
        assertEquals(0x03, in(Serial.LCR));
    }

    @Test
    void loopbackTurnsOutputIntoInputAndModemLinesBack() {
        out(Serial.MCR, Serial.MCR_LOOPBACK | 0x0b); // loop, DTR, RTS, OUT2
        out(Serial.DATA, 'q');
        assertEquals("", console.toString());
        assertEquals('q', in(Serial.DATA));
        assertEquals(Serial.MSR_CTS | Serial.MSR_DSR | Serial.MSR_DCD, in(Serial.MSR));
        out(Serial.MCR, 0);
        assertEquals(
                Serial.MSR_CTS | Serial.MSR_DSR | Serial.MSR_DCD, in(Serial.MSR), "carrier and ready when not looped");
    }

    @Test
    void scratchRegisterAndOutOfRangeOffsets() {
        out(Serial.SCR, 0x5a);
        assertEquals(0x5a, in(Serial.SCR));
        out(8, 0xff);
        out(-1, 0xff);
        assertEquals(0, in(100));
        serial.write(0, MemorySegment.ofArray(new byte[0]));
    }

    @Test
    void aBrokenConsoleNeverStopsTheGuest() {
        AtomicInteger attempts = new AtomicInteger();
        Serial broken = new Serial("ttyS1", () -> {}, new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                attempts.incrementAndGet();
                throw new IOException("disk full");
            }
        });
        MemorySegment data = MemorySegment.ofArray(new byte[] {'x'});
        broken.write(Serial.DATA, data);
        broken.write(Serial.DATA, data);
        assertEquals(1, attempts.get(), "after one failure the output is skipped");
        assertEquals(Serial.LSR_THR_EMPTY | Serial.LSR_IDLE, broken.readRegister(Serial.LSR));
    }

    @Test
    void fullInputBufferHoldsTheSenderBackInsteadOfDropping() throws Exception {
        byte[] lots = new byte[Serial.INPUT_CAPACITY + 10];
        lots[lots.length - 1] = 42;
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread sender = Thread.ofPlatform().name("serial-sender").start(() -> {
            try {
                serial.queueInput(lots);
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        // Proof that the sender is held back: it is parked in queueInput's wait, with the buffer full, not finished.
        Threads.awaitWaitingIn(sender, Serial.class, "queueInput");
        int last = 0;
        for (int i = 0; i < lots.length; i++) {
            while ((in(Serial.LSR) & Serial.LSR_DATA_READY) == 0) {
                Thread.onSpinWait();
            }
            last = in(Serial.DATA);
        }
        assertTrue(sender.join(Duration.ofSeconds(30)), "the sender never finished");
        assertNull(failure.get());
        assertEquals(42, last, "every byte arrived, the last one last");
        assertEquals(0, in(Serial.LSR) & Serial.LSR_DATA_READY, "and no more");
    }

    @Test
    void connectedInputStreamFeedsTheGuest() throws Exception {
        serial.connectInput(
                new ByteArrayInputStream("login\n".getBytes()),
                Thread.ofPlatform().factory());
        StringBuilder received = new StringBuilder();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (received.length() < 6 && System.nanoTime() < deadline) {
            if ((in(Serial.LSR) & Serial.LSR_DATA_READY) != 0) {
                received.append((char) in(Serial.DATA));
            }
        }
        assertEquals("login\n", received.toString());
        serial.close();
    }
}
