// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

@RequiresKvm
class LongModeGuestTest {
    private static final long MMIO_BASE = 0xd000_0000L;

    /**
     * <pre>
     * 48 be 00 00 00 d0 00 00 00 00   movabs rsi, 0xd0000000
     * 8b 06                           mov eax, [rsi]            ; MMIO read, 4 bytes
     * 89 46 08                        mov [rsi+8], eax          ; MMIO write of what was read
     * c6 46 10 42                     mov byte [rsi+0x10], 0x42 ; MMIO write, 1 byte
     * 48 bb 88 77 66 55 44 33 22 11   movabs rbx, 0x1122334455667788
     * 48 89 5e 18                     mov [rsi+0x18], rbx       ; MMIO write, 8 bytes
     * f4                              hlt
     * </pre>
     */
    static final byte[] MMIO = bytes(
            0x48, 0xbe, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x8b, 0x06, 0x89, 0x46, 0x08, 0xc6, 0x46, 0x10,
            0x42, 0x48, 0xbb, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x48, 0x89, 0x5e, 0x18, 0xf4);

    /**
     * <pre>
     * 48 be 00 00 00 d0 00 00 00 00   movabs rsi, 0xd0000000
     * c7 86 00 10 00 00 07 00 00 00   mov dword [rsi+0x1000], 7   ; datamatch 9 does not match: exits
     * c7 86 00 10 00 00 09 00 00 00   mov dword [rsi+0x1000], 9   ; matches: eventfd, no exit
     * c7 86 00 20 00 00 01 00 00 00   mov dword [rsi+0x2000], 1   ; any value: eventfd, no exit
     * f4                              hlt
     * </pre>
     */
    static final byte[] IOEVENT = bytes(
            0x48, 0xbe, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x00, 0x00, 0x00, 0xc7, 0x86, 0x00, 0x10, 0x00, 0x00, 0x07, 0x00,
            0x00, 0x00, 0xc7, 0x86, 0x00, 0x10, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0xc7, 0x86, 0x00, 0x20, 0x00, 0x00,
            0x01, 0x00, 0x00, 0x00, 0xf4);

    /**
     * Programs the in-kernel 8259 PIC (vector base 0x20, only IRQ 5 unmasked), reports "ready" on port 0x80, then
     * waits with interrupts on; the IRQ 5 handler at offset 0x40 reports 0x42 on port 0x80 and acknowledges.
     * <pre>
     * 00: b0 11 e6 20   mov al, 0x11; out 0x20, al   ; ICW1
     * 04: b0 20 e6 21   mov al, 0x20; out 0x21, al   ; ICW2: vectors 0x20-0x27
     * 08: b0 04 e6 21   mov al, 0x04; out 0x21, al   ; ICW3
     * 0c: b0 01 e6 21   mov al, 0x01; out 0x21, al   ; ICW4: 8086 mode
     * 10: b0 df e6 21   mov al, 0xdf; out 0x21, al   ; mask all but IRQ 5
     * 14: b0 01 e6 80   mov al, 1;    out 0x80, al   ; ready
     * 18: fb            sti
     * 19: f4            hlt
     * 1a: eb fd         jmp 0x19
     * 40: b0 42 e6 80   mov al, 0x42; out 0x80, al   ; IRQ 5 handler
     * 44: b0 20 e6 20   mov al, 0x20; out 0x20, al   ; EOI
     * 48: 48 cf         iretq
     * </pre>
     */
    static final byte[] PIC_IRQ5 = withHandler(
            bytes(
                    0xb0, 0x11, 0xe6, 0x20, 0xb0, 0x20, 0xe6, 0x21, 0xb0, 0x04, 0xe6, 0x21, 0xb0, 0x01, 0xe6, 0x21,
                    0xb0, 0xdf, 0xe6, 0x21, 0xb0, 0x01, 0xe6, 0x80, 0xfb, 0xf4, 0xeb, 0xfd),
            0x40,
            bytes(0xb0, 0x42, 0xe6, 0x80, 0xb0, 0x20, 0xe6, 0x20, 0x48, 0xcf));

    /** {@code eb fe: jmp $}, forever. */
    static final byte[] SPIN = bytes(0xeb, 0xfe);

    @Test
    void mmioReadsAndWritesExitWithAddressSizeAndData() {
        try (TestGuest guest = TestGuest.create()) {
            guest.startLongMode(MMIO);
            Vcpu vcpu = guest.vcpu;

            VcpuExit.MmioRead read = assertInstanceOf(VcpuExit.MmioRead.class, vcpu.run());
            assertEquals(MMIO_BASE, read.address());
            assertEquals(4, read.length());
            read.setValue(0xcafe_f00dL);

            VcpuExit.MmioWrite write = assertInstanceOf(VcpuExit.MmioWrite.class, vcpu.run());
            assertEquals(MMIO_BASE + 8, write.address());
            assertEquals(4, write.length());
            assertEquals(0xcafe_f00dL, write.value(), "the guest writes back what it read");

            write = assertInstanceOf(VcpuExit.MmioWrite.class, vcpu.run());
            assertEquals(MMIO_BASE + 0x10, write.address());
            assertEquals(1, write.length());
            assertEquals(0x42, write.value());

            write = assertInstanceOf(VcpuExit.MmioWrite.class, vcpu.run());
            assertEquals(MMIO_BASE + 0x18, write.address());
            assertEquals(8, write.length());
            assertEquals(0x1122_3344_5566_7788L, write.value());

            assertInstanceOf(VcpuExit.Hlt.class, vcpu.run());
        }
    }

    @Test
    void ioeventfdsSignalWithoutAnExitAndHonourDatamatch() {
        try (TestGuest guest = TestGuest.create();
                EventFd matching = EventFd.createNonBlocking();
                EventFd any = EventFd.createNonBlocking()) {
            guest.vm.registerIoevent(matching, new IoEventAddress.Mmio(MMIO_BASE + 0x1000), Datamatch.of(4, 9));
            guest.vm.registerIoevent(any, new IoEventAddress.Mmio(MMIO_BASE + 0x2000), Datamatch.any());
            guest.startLongMode(IOEVENT);

            VcpuExit.MmioWrite unmatched = assertInstanceOf(VcpuExit.MmioWrite.class, guest.vcpu.run());
            assertEquals(MMIO_BASE + 0x1000, unmatched.address());
            assertEquals(7, unmatched.value());
            assertEquals(0, matching.read(), "a write of 7 must not signal a datamatch of 9");

            assertInstanceOf(VcpuExit.Hlt.class, guest.vcpu.run(), "the two matching writes made no exit");
            assertEquals(1, matching.read());
            assertEquals(1, any.read());

            guest.vm.unregisterIoevent(matching, new IoEventAddress.Mmio(MMIO_BASE + 0x1000), Datamatch.of(4, 9));
            guest.vm.unregisterIoevent(any, new IoEventAddress.Mmio(MMIO_BASE + 0x2000), Datamatch.any());
        }
    }

    @Test
    void irqfdInterruptReachesTheGuestIdtHandler() throws Exception {
        try (TestGuest guest = TestGuest.withIrqchip();
                EventFd irq = EventFd.create()) {
            guest.vm.registerIrqfd(irq, 5);
            guest.setInterruptGate(0x25, 0x40);
            guest.startLongMode(PIC_IRQ5);
            Vcpu vcpu = guest.vcpu;

            CompletableFuture<Void> watchdog = kickAfter(vcpu, Duration.ofSeconds(10));
            try (Vcpu.ThreadBinding binding = vcpu.bindToCurrentThread()) {
                VcpuExit.IoOut ready = assertInstanceOf(VcpuExit.IoOut.class, vcpu.run());
                assertEquals(0x80, ready.port());
                assertEquals(1, ready.value(), "the guest says it is ready");

                irq.write(1); // the guest halts in the kernel until this interrupt arrives
                VcpuExit handled = vcpu.run();
                VcpuExit.IoOut fromHandler = assertInstanceOf(
                        VcpuExit.IoOut.class, handled, "expected the IRQ 5 handler's port write, got " + handled);
                assertEquals(0x80, fromHandler.port());
                assertEquals(0x42, fromHandler.value());
            } finally {
                watchdog.cancel(true);
            }
            guest.vm.unregisterIrqfd(irq, 5);
        }
    }

    /** Where {@link #COUNT} counts. */
    static final long COUNTER = 0x20000;

    /**
     * Counts in memory, forever, without an exit.
     * <pre>
     * 48 b8 00 00 02 00 00 00 00 00   movabs rax, 0x20000
     * 48 ff 00                        inc qword [rax]
     * eb fb                           jmp to the inc
     * </pre>
     */
    static final byte[] COUNT =
            bytes(0x48, 0xb8, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0xff, 0x00, 0xeb, 0xfb);

    /**
     * The kick's signal takes a vCPU out of KVM_RUN while it runs guest code. The guest counts in memory without ever
     * exiting, and the test kicks only once it has seen the count move, so the vCPU is inside KVM_RUN by then: setting
     * {@code immediate_exit}, which KVM reads only on entry, cannot end that run, so only the signal can. Were it broken,
     * the vCPU would spin on and the test would fail waiting for it.
     */
    @Test
    void aVcpuRunningGuestCodeIsKickedOutOfKvmRunByTheSignal() throws Exception {
        try (TestGuest guest = TestGuest.create()) {
            guest.startLongMode(COUNT);
            Vcpu vcpu = guest.vcpu;
            CompletableFuture<VcpuExit> exit = new CompletableFuture<>();
            Thread vcpuThread = Thread.ofPlatform().name("vcpu-0").start(() -> {
                try (Vcpu.ThreadBinding binding = vcpu.bindToCurrentThread()) {
                    VcpuExit first = vcpu.run();
                    exit.complete(first);
                } catch (Throwable t) {
                    exit.completeExceptionally(t);
                }
            });
            long seen = guest.memory.get(ValueLayout.JAVA_LONG, COUNTER);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (guest.memory.get(ValueLayout.JAVA_LONG, COUNTER) - seen < 2 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertTrue(guest.memory.get(ValueLayout.JAVA_LONG, COUNTER) - seen >= 2, "the guest never ran");
            assertTrue(!exit.isDone(), "the guest makes no exit: the vCPU is in KVM_RUN");
            vcpu.kick();
            VcpuExit first = exit.get(30, TimeUnit.SECONDS); // a TimeoutException here: the signal did not interrupt it
            assertInstanceOf(VcpuExit.Intr.class, first);
            assertTrue(vcpuThread.join(Duration.ofSeconds(30)));
        }
    }

    @Test
    void kickBeforeRunMakesTheNextRunReturnAtOnce() {
        try (TestGuest guest = TestGuest.create()) {
            guest.startLongMode(SPIN);
            try (Vcpu.ThreadBinding binding = guest.vcpu.bindToCurrentThread()) {
                guest.vcpu.kick();
                assertInstanceOf(VcpuExit.Intr.class, guest.vcpu.run());
                assertTrue(!guest.vcpu.kvmRun().immediateExitRequested(), "run() clears immediate_exit");
            }
        }
    }

    private static CompletableFuture<Void> kickAfter(Vcpu vcpu, Duration delay) {
        return CompletableFuture.runAsync(
                vcpu::kick, CompletableFuture.delayedExecutor(delay.toMillis(), TimeUnit.MILLISECONDS));
    }

    private static byte[] withHandler(byte[] code, int handlerOffset, byte[] handler) {
        byte[] all = new byte[handlerOffset + handler.length];
        System.arraycopy(code, 0, all, 0, code.length);
        System.arraycopy(handler, 0, all, handlerOffset, handler.length);
        return all;
    }

    static byte[] bytes(int... values) {
        byte[] bytes = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            bytes[i] = (byte) values[i];
        }
        return bytes;
    }
}
