// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.devices.Serial;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A guest's port I/O, dispatched through a {@link Bus} to a {@link Serial} UART, as the vCPU loop will do it. */
@RequiresKvm
class BusDispatchGuestTest {
    @Test
    void realModeGuestPrintsThroughTheSerialOnTheIoBus() {
        Bus io = new Bus("io");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        AtomicInteger interrupts = new AtomicInteger();
        io.insert(new Serial("ttyS0", interrupts::incrementAndGet, console), 0x3f8, 8);
        try (TestGuest guest = TestGuest.create()) {
            guest.startRealMode(RealModeGuestTest.ADD_AND_PRINT, 3, 4);
            VcpuExit exit;
            while (true) {
                exit = guest.vcpu.run();
                if (exit instanceof VcpuExit.IoOut out) {
                    assertTrue(io.write(out.port(), out.data()));
                } else if (exit instanceof VcpuExit.IoIn in) {
                    io.read(in.port(), in.data());
                } else {
                    break;
                }
            }
            assertInstanceOf(VcpuExit.Hlt.class, exit);
            assertEquals("7\n", console.toString());
            assertEquals(0, interrupts.get(), "the guest never enabled UART interrupts");
        }
    }
}
