// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.vmm.devices.NullDevice;
import org.junit.jupiter.api.Test;

/** The builder's own checks, made as each option is set; none needs KVM. */
class VirtualMachineBuilderTest {
    @Test
    void ioPortRangesThatOverflowALongAreRefused() {
        NullDevice device = new NullDevice("nothing");
        for (long[] range : new long[][] {
            {0x100, Long.MAX_VALUE}, {0x100, Long.MAX_VALUE - 0x80}, {Long.MAX_VALUE, 1}, {0x10000, 1}, {0xffff, 2}
        }) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> VirtualMachine.builder().ioDevice(device, range[0], range[1]),
                    () -> Long.toHexString(range[0]) + "+" + Long.toHexString(range[1]));
            assertTrue(e.getMessage().contains(String.format("at ports %#x+%#x", range[0], range[1])), e.getMessage());
        }
        VirtualMachine.builder().ioDevice(device, 0xffff, 1); // the last port
        VirtualMachine.builder().ioDevice(device, 0, 0x10000); // all of them
    }

    @Test
    void mebibytesWhoseBytesOverflowALongAreRefused() {
        assertEquals(256L << 20, VirtualMachineBuilder.MiB(256));
        assertEquals(Long.MAX_VALUE >> 20 << 20, VirtualMachineBuilder.MiB(Long.MAX_VALUE >> 20));
        for (long mib : new long[] {(Long.MAX_VALUE >> 20) + 1, 1L << 44, Long.MAX_VALUE, -1, Long.MIN_VALUE}) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> VirtualMachineBuilder.MiB(mib), () -> "" + mib);
            assertTrue(e.getMessage().startsWith(mib + " MiB "), e.getMessage());
        }
    }
}
