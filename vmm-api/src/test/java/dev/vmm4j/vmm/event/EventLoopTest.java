// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.kvm.bindings.NativeCallException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EventLoopTest {
    /** Watches eventfds, reads them when they fire, and reports (token, value) pairs. */
    static final class Counter implements EventSubscriber {
        final List<EventFd> events;
        final BlockingQueue<long[]> seen = new LinkedBlockingQueue<>();

        Counter(EventFd... events) {
            this.events = List.of(events);
        }

        @Override
        public void init(EventOps ops) {
            for (int i = 0; i < events.size(); i++) {
                ops.add(events.get(i).fd(), EventSet.IN, 100 + i);
            }
        }

        @Override
        public void process(Event event, EventOps ops) {
            long value = events.get(event.data() - 100).read();
            seen.add(new long[] {event.data(), value, event.fd()});
        }
    }

    @Test
    void subscribersGetTheirTokenWithEachEvent() throws Exception {
        try (EventLoop loop = EventLoop.create("test-loop");
                EventFd a = EventFd.createNonBlocking();
                EventFd b = EventFd.createNonBlocking()) {
            Counter counter = new Counter(a, b);
            loop.addSubscriber(counter);
            Thread thread = loop.start();
            assertEquals("test-loop", thread.getName());
            b.write(7);
            long[] first = counter.seen.poll(5, TimeUnit.SECONDS);
            assertEquals(101, first[0]);
            assertEquals(7, first[1]);
            assertEquals(b.fd(), first[2]);
            a.write(3);
            assertEquals(100, counter.seen.poll(5, TimeUnit.SECONDS)[0]);
        }
    }

    @Test
    void anAddThatEpollRefusesLeavesItsSlotFree() {
        try (EventLoop loop = EventLoop.create("test-loop");
                EventFd a = EventFd.createNonBlocking()) {
            loop.addSubscriber(new EventSubscriber() {
                @Override
                public void init(EventOps ops) {
                    for (int i = 0; i < 100; i++) {
                        assertThrows(NativeCallException.class, () -> ops.add(-1, EventSet.IN, 0)); // EBADF
                    }
                    ops.add(a.fd(), EventSet.IN, 0);
                }

                @Override
                public void process(Event event, EventOps ops) {}
            });
            assertEquals(1, loop.slotsAllocated(), "the failed adds' slot went to the add that worked");
        }
    }

    @Test
    void subscribersComeAndGoWhileTheLoopRuns() throws Exception {
        try (EventLoop loop = EventLoop.create("test-loop");
                EventFd a = EventFd.createNonBlocking()) {
            loop.start();
            Counter counter = new Counter(a);
            int id = loop.addSubscriber(counter);
            a.write(1);
            assertEquals(1, counter.seen.poll(5, TimeUnit.SECONDS)[1]);
            assertTrue(loop.removeSubscriber(id));
            assertFalse(loop.removeSubscriber(id));
            a.write(2);
            CompletableFuture<Void> barrier = new CompletableFuture<>();
            loop.post(() -> barrier.complete(null));
            barrier.get(5, TimeUnit.SECONDS);
            assertEquals(null, counter.seen.poll(100, TimeUnit.MILLISECONDS), "a removed subscriber hears nothing");
            assertEquals(2, a.read(), "and its fd is left alone, still holding the count");
        }
    }

    @Test
    void aSubscriberCanChangeAndDropItsOwnRegistrations() throws Exception {
        try (EventLoop loop = EventLoop.create("test-loop");
                EventFd a = EventFd.createNonBlocking()) {
            List<Integer> tokens = new CopyOnWriteArrayList<>();
            loop.addSubscriber(new EventSubscriber() {
                @Override
                public void init(EventOps ops) {
                    ops.add(a.fd(), EventSet.IN, 1);
                }

                @Override
                public void process(Event event, EventOps ops) {
                    a.read();
                    tokens.add(event.data());
                    if (event.data() == 1) {
                        ops.modify(a.fd(), EventSet.IN, 2);
                    } else {
                        ops.remove(a.fd());
                    }
                }
            });
            a.write(1);
            assertEquals(1, loop.runOnce(1000));
            a.write(1);
            assertEquals(1, loop.runOnce(1000));
            a.write(1);
            assertEquals(0, loop.runOnce(50), "removed: no more events");
            assertEquals(List.of(1, 2), tokens);
        }
    }

    @Test
    void postedTasksRunOnTheLoopThreadAndFailuresAreCountedNotFatal() throws Exception {
        try (EventLoop loop = EventLoop.create("poster")) {
            Thread thread = loop.start();
            CompletableFuture<Thread> ranOn = new CompletableFuture<>();
            loop.post(() -> {
                throw new IllegalStateException("deliberate");
            });
            loop.post(() -> ranOn.complete(Thread.currentThread()));
            assertEquals(thread, ranOn.get(5, TimeUnit.SECONDS));
            assertEquals(1, loop.errorCount());
        }
    }

    @Test
    void registeringAnFdTwiceOrAStrangerFdIsAnError() {
        try (EventLoop loop = EventLoop.create("test-loop");
                EventFd a = EventFd.createNonBlocking()) {
            IllegalStateException e = assertThrows(
                    IllegalStateException.class,
                    () -> loop.addSubscriber(new EventSubscriber() {
                        @Override
                        public void init(EventOps ops) {
                            ops.add(a.fd(), EventSet.IN, 0);
                            ops.add(a.fd(), EventSet.IN, 0);
                        }

                        @Override
                        public void process(Event event, EventOps ops) {}
                    }));
            assertTrue(e.getMessage().endsWith("is already watched by subscriber 1; use modify"), e.getMessage());
            // The failed subscriber's first registration was rolled back: a new one can watch the fd.
            loop.addSubscriber(new Counter(a));
        }
    }

    @Test
    void aSubscriberMayCloseTheLoopItRunsOn() throws Exception {
        try (EventFd a = EventFd.createNonBlocking()) {
            EventLoop loop = EventLoop.create("self-closing");
            loop.addSubscriber(new EventSubscriber() {
                @Override
                public void init(EventOps ops) {
                    ops.add(a.fd(), EventSet.IN, 0);
                }

                @Override
                public void process(Event event, EventOps ops) {
                    loop.close();
                }
            });
            Thread thread = loop.start();
            a.write(1);
            thread.join(5000);
            assertFalse(thread.isAlive(), "the loop stopped");
            assertEquals(0, loop.errorCount());
            assertThrows(IllegalStateException.class, () -> loop.post(() -> {}));
            loop.close();
        }
    }

    @Test
    void closeStopsTheThreadAndLeaksNoDescriptors() throws Exception {
        long before = openDescriptors();
        for (int i = 0; i < 20; i++) {
            EventLoop loop = EventLoop.create("loop-" + i);
            Thread thread = loop.start();
            try (EventFd a = EventFd.createNonBlocking()) {
                loop.addSubscriber(new Counter(a));
                loop.close();
            }
            thread.join(5000);
            assertFalse(thread.isAlive());
            assertThrows(IllegalStateException.class, () -> loop.post(() -> {}));
            loop.close();
        }
        assertEquals(before, openDescriptors());
    }

    private static long openDescriptors() throws IOException {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}
