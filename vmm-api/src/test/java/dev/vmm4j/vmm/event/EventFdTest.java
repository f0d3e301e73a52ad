// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EventFdTest {
    @Test
    void writesAddUpAndAReadTakesAndResetsTheCounter() {
        try (EventFd event = EventFd.createNonBlocking()) {
            event.write(2);
            event.write(3);
            assertEquals(5, event.read());
            assertEquals(0, event.read(), "a non-blocking read of an empty eventfd returns 0");
        }
    }

    @Test
    void blockingReadWaitsForAWriteFromAnotherThread() throws Exception {
        try (EventFd event = EventFd.create()) {
            CompletableFuture<Long> read = CompletableFuture.supplyAsync(event::read);
            Thread.sleep(50);
            event.write(7);
            assertEquals(7, read.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void rejectsValuesTheKernelWouldRefuse() {
        try (EventFd event = EventFd.createNonBlocking()) {
            assertThrows(IllegalArgumentException.class, () -> event.write(0));
            assertThrows(IllegalArgumentException.class, () -> event.write(-1));
        }
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseSaysSo() {
        EventFd event = EventFd.createNonBlocking();
        event.close();
        event.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, event::fd);
        assertEquals("eventfd is closed", e.getMessage());
    }
}
