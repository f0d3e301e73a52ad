// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TimerFdTest {
    @Test
    void anArmedTimerWakesAnEventLoopAndADisarmedOneDoesNot() throws Exception {
        try (TimerFd timer = TimerFd.create();
                EventLoop loop = EventLoop.create("timer-test")) {
            int[] fired = new int[1];
            loop.addSubscriber(new EventSubscriber() {
                @Override
                public void init(EventOps ops) {
                    ops.add(timer.fd(), EventSet.IN, 0);
                }

                @Override
                public void process(Event event, EventOps ops) {
                    fired[0] += (int) timer.read();
                }
            });
            assertEquals(0, timer.read(), "not armed: nothing to read, and no blocking");
            timer.arm(Duration.ofMillis(20), Duration.ZERO);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (fired[0] == 0 && System.nanoTime() < deadline) {
                loop.runOnce(100);
            }
            assertEquals(1, fired[0], "a one-shot timer expires once");

            timer.arm(Duration.ofMillis(10), Duration.ofMillis(10));
            while (fired[0] < 4 && System.nanoTime() < deadline) {
                loop.runOnce(100);
            }
            assertTrue(fired[0] >= 4, "a periodic timer keeps expiring: " + fired[0]);
            timer.disarm();
            timer.read();
            int before = fired[0];
            loop.runOnce(100);
            assertEquals(before, fired[0], "a disarmed timer stays quiet");
        }
    }

    @Test
    void aTimerNeedsAPositiveFirstExpiry() {
        try (TimerFd timer = TimerFd.create()) {
            assertThrows(IllegalArgumentException.class, () -> timer.arm(Duration.ZERO, Duration.ZERO));
            assertThrows(IllegalArgumentException.class, () -> timer.arm(Duration.ofMillis(1), Duration.ofMillis(-1)));
        }
    }
}
