// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import org.junit.jupiter.api.Test;

@RequiresKvm
class RealModeGuestTest {
    /**
     * <pre>
     * ba f8 03   mov dx, 0x3f8
     * 00 d8      add al, bl
     * 04 30      add al, '0'
     * ee         out dx, al
     * b0 0a      mov al, '\n'
     * ee         out dx, al
     * f4         hlt
     * </pre>
     */
    static final byte[] ADD_AND_PRINT = {
        (byte) 0xba,
        (byte) 0xf8,
        0x03,
        0x00,
        (byte) 0xd8,
        0x04,
        0x30,
        (byte) 0xee,
        (byte) 0xb0,
        0x0a,
        (byte) 0xee,
        (byte) 0xf4
    };

    @Test
    void realModeGuestPrintsTheSumThroughPortIoAndHalts() {
        try (TestGuest guest = TestGuest.create()) {
            guest.startRealMode(ADD_AND_PRINT, 2, 2);
            ByteArrayOutputStream serial = new ByteArrayOutputStream();
            VcpuExit exit;
            while ((exit = guest.vcpu.run()) instanceof VcpuExit.IoOut out) {
                assertEquals(0x3f8, out.port());
                assertEquals(1, out.size());
                assertEquals(1, out.count());
                serial.write((int) out.value());
            }
            assertInstanceOf(VcpuExit.Hlt.class, exit);
            assertEquals("4\n", serial.toString());
        }
    }
}
