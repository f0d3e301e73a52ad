// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.event;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.vmm.testing.Threads;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A subscriber's slow work holds up only whoever waits for that subscriber: removing another subscriber, or adding
 * one, from another thread goes through while it runs; removing the busy one waits for it to return.
 */
class EventLoopDispatchTest {
    /** Blocks in process() until released. */
    static final class Slow implements EventSubscriber {
        final EventFd event = EventFd.createNonBlocking();
        final CountDownLatch running = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        volatile boolean returned;

        @Override
        public void init(EventOps ops) {
            ops.add(event.fd(), EventSet.IN, 0);
        }

        @Override
        public void process(Event e, EventOps ops) {
            event.read();
            running.countDown();
            try {
                release.await();
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
            returned = true;
        }
    }

    /** Does nothing; watches an eventfd nobody writes. */
    static final class Idle implements EventSubscriber {
        final EventFd event = EventFd.createNonBlocking();

        @Override
        public void init(EventOps ops) {
            ops.add(event.fd(), EventSet.IN, 0);
        }

        @Override
        public void process(Event e, EventOps ops) {}
    }

    @Test
    void removingOneSubscriberDoesNotWaitForAnothersWork() throws Exception {
        Slow slow = new Slow();
        Idle idle = new Idle();
        Idle another = new Idle();
        try (EventLoop loop = EventLoop.create("dispatch-test")) {
            try {
                runScenario(loop, slow, idle, another);
            } finally {
                slow.release.countDown(); // whatever failed, the loop thread must be let go before the loop closes
            }
        } finally {
            slow.event.close();
            idle.event.close();
            another.event.close();
        }
    }

    private static void runScenario(EventLoop loop, Slow slow, Idle idle, Idle another) throws Exception {
        int slowId = loop.addSubscriber(slow);
        int idleId = loop.addSubscriber(idle);
        loop.start();
        slow.event.write(1);
        assertTrue(slow.running.await(30, TimeUnit.SECONDS));
        // While the slow subscriber runs on the loop thread, another thread adds and removes others at once.
        CompletableFuture<Boolean> removal = CompletableFuture.supplyAsync(
                () -> loop.removeSubscriber(idleId) && loop.removeSubscriber(loop.addSubscriber(another)));
        assertTrue(removal.get(30, TimeUnit.SECONDS), "a removal waited for another subscriber's work");
        // Removing the busy one waits until it returns: it is not running once removeSubscriber returns.
        AtomicBoolean returnedFirst = new AtomicBoolean();
        Thread remover = Thread.ofPlatform().name("remover").start(() -> {
            loop.removeSubscriber(slowId);
            returnedFirst.set(slow.returned);
        });
        Threads.awaitWaitingIn(remover, EventLoop.class, "removeSubscriber");
        slow.release.countDown();
        assertTrue(remover.join(Duration.ofSeconds(30)), "removeSubscriber never returned");
        assertTrue(returnedFirst.get(), "removeSubscriber returned while the subscriber still ran");
    }
}
