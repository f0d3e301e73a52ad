// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GuestAddressTest {
    @Test
    void arithmeticIsUnsignedAndChecked() {
        GuestAddress top = GuestAddress.of(-1L);
        assertEquals("0xffffffffffffffff", top.toString());
        ArithmeticException e = assertThrows(ArithmeticException.class, () -> top.add(1));
        assertEquals("0xffffffffffffffff + 0x1 passes the end of the 64-bit address space", e.getMessage());
        assertEquals(
                GuestAddress.of(0x8000_0000_0000_0000L),
                GuestAddress.of(0x7fff_ffff_ffff_ffffL).add(1));
        assertThrows(ArithmeticException.class, () -> GuestAddress.ZERO.subtract(1));
        assertEquals(0x10, GuestAddress.of(0x1010).offsetFrom(GuestAddress.of(0x1000)));
        assertThrows(ArithmeticException.class, () -> GuestAddress.of(0x1000).offsetFrom(GuestAddress.of(0x1010)));
    }

    @Test
    void alignment() {
        assertEquals(GuestAddress.of(0x2000), GuestAddress.of(0x1001).alignUp(0x1000));
        assertEquals(GuestAddress.of(0x1000), GuestAddress.of(0x1fff).alignDown(0x1000));
        assertTrue(GuestAddress.of(0x3000).isAligned(0x1000));
        assertThrows(ArithmeticException.class, () -> GuestAddress.of(-1L).alignUp(0x1000));
        assertThrows(IllegalArgumentException.class, () -> GuestAddress.ZERO.alignUp(3));
    }

    @Test
    void ordersUnsigned() {
        assertTrue(GuestAddress.of(-1L).compareTo(GuestAddress.of(1)) > 0);
    }
}
