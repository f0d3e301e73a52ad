// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.event;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An epoll loop for the fds NIO cannot watch (eventfds, KVM and device fds): {@link EventSubscriber}s register the
 * fds they own and get each event with the token they chose.
 *
 * <pre>{@code
 * EventLoop loop = EventLoop.create("virtio-blk-0");
 * int id = loop.addSubscriber(device);       // calls device.init(ops): ops.add(queueEvent.fd(), EventSet.IN, 0)
 * loop.start();                              // or loop.run() on a thread of your own
 * loop.post(() -> ...);                      // runs on the loop thread, from any thread
 * loop.close();                              // stops and joins the loop, closes the epoll fd
 * }</pre>
 *
 * <h2>Threads</h2>
 * Events and posted tasks run on the loop's thread. Subscribers may be added and removed from any thread, also
 * while the loop runs. A lock keeps the registrations consistent; it is held while an event is looked up, never while a
 * subscriber runs nor while waiting in epoll, so one subscriber's slow work (a disk read) holds up no other thread
 * that adds or removes another subscriber. A registration removed mid-batch gets none of that batch's remaining
 * events, and {@link #removeSubscriber} returns only once the subscriber is not running (it waits for that
 * subscriber's own event in progress, and only for it). Dispatching allocates nothing.
 *
 * <h2>Failures</h2>
 * A subscriber or task that throws an exception is logged and counted ({@link #errorCount()}), and the loop goes on.
 * An {@link Error} is not caught: it ends {@link #run()}, and with it the thread, whose owner decides what that means
 * (a VM ends).
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class EventLoop implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EventLoop.class.getName());
    private static final int MAX_EVENTS = 64;
    private static final long EVENT_SIZE = Libc.EPOLL_EVENT_BYTES;
    private static final long EVENTS_OFFSET = 0;
    private static final long DATA_OFFSET = Libc.EPOLL_EVENT_DATA_OFFSET;
    /** The epoll data of the loop's own wake-up eventfd; registrations use (generation << 32 | slot), never -1. */
    private static final long WAKE_DATA = -1L;

    /** One watched fd: its owner and token, and a generation that tells its events from a reused slot's. */
    private static final class Registration {
        final int fd;
        int data;
        final Subscription owner;
        final int generation;

        Registration(int fd, int data, Subscription owner, int generation) {
            this.fd = fd;
            this.data = data;
            this.owner = owner;
            this.generation = generation;
        }
    }

    /** A subscriber, its registrations, and the ops object that reaches only them. */
    private final class Subscription implements EventOps {
        final int id;
        final EventSubscriber subscriber;
        final Map<Integer, Integer> slotByFd = new HashMap<>();
        /** Set when the subscriber is removed: from then on its ops change nothing (add refuses). Guarded by lock. */
        boolean removed;

        Subscription(int id, EventSubscriber subscriber) {
            this.id = id;
            this.subscriber = subscriber;
        }

        @Override
        public void add(int fd, int events, int data) {
            lock.lock();
            try {
                if (removed) {
                    throw new IllegalStateException("subscriber " + id + " was removed from event loop " + name);
                }
                if (slotByFd.containsKey(fd)) {
                    throw new IllegalStateException(
                            "fd " + fd + " is already watched by subscriber " + id + "; use modify");
                }
                int slot = freeSlots.isEmpty() ? allocateSlot() : freeSlots.pop();
                int generation = ++generations[slot];
                try {
                    Libc.epollCtl(
                            epoll.get(), LinuxHeaders.EPOLL_CTL_ADD(), fd, events, ((long) generation << 32) | slot);
                } catch (RuntimeException e) {
                    freeSlots.push(slot); // epoll holds nothing for it: free again, or each failure would lose one
                    throw e;
                }
                registrations[slot] = new Registration(fd, data, this, generation);
                slotByFd.put(fd, slot);
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void modify(int fd, int events, int data) {
            lock.lock();
            try {
                if (removed) {
                    return; // a removed subscriber's registrations are gone already
                }
                int slot = slotOf(fd);
                Registration registration = registrations[slot];
                Libc.epollCtl(
                        epoll.get(),
                        LinuxHeaders.EPOLL_CTL_MOD(),
                        fd,
                        events,
                        ((long) registration.generation << 32) | slot);
                registration.data = data;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void remove(int fd) {
            lock.lock();
            try {
                if (removed) {
                    return; // a removed subscriber's registrations are gone already
                }
                release(slotOf(fd));
                slotByFd.remove(fd);
            } finally {
                lock.unlock();
            }
        }

        void removeAll() {
            removed = true;
            for (int slot : slotByFd.values()) {
                release(slot);
            }
            slotByFd.clear();
        }

        private int slotOf(int fd) {
            Integer slot = slotByFd.get(fd);
            if (slot == null) {
                throw new IllegalStateException("fd " + fd + " is not watched by subscriber " + id);
            }
            return slot;
        }

        private void release(int slot) {
            int fd = registrations[slot].fd;
            registrations[slot] = null;
            freeSlots.push(slot);
            try {
                Libc.epollCtl(epoll.get(), LinuxHeaders.EPOLL_CTL_DEL(), fd, 0, 0);
            } catch (NativeCallException e) {
                // Closing an fd already took it out of the epoll set: that is the owner's right.
                if (e.errno() != LinuxHeaders.EBADF() && e.errno() != LinuxHeaders.ENOENT()) {
                    throw e;
                }
            }
        }
    }

    private final String name;
    private final OwnedFd epoll;
    private final EventFd wake;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment events;
    private final Event event = new Event();
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when the subscriber in {@link #dispatching} returns. */
    private final Condition dispatchDone = lock.newCondition();
    /** The subscription whose process() runs now, and the thread it runs on, or null; guarded by lock. */
    private Subscription dispatching;

    private Thread dispatchingThread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Map<Integer, Subscription> subscriptions = new HashMap<>();
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    private Registration[] registrations = new Registration[16];
    private int[] generations = new int[16];
    private int usedSlots;
    private int nextSubscriberId = 1;
    private final AtomicLong errors = new AtomicLong();
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile boolean stopping;
    private volatile Thread loopThread;
    private volatile boolean closed;

    private EventLoop(String name) {
        this.name = name;
        this.epoll = new OwnedFd(Libc.epollCreate(), "epoll of " + name);
        try {
            this.wake = EventFd.createNonBlocking();
            this.events = arena.allocate(EVENT_SIZE * MAX_EVENTS, 8);
            Libc.epollCtl(epoll.get(), LinuxHeaders.EPOLL_CTL_ADD(), wake.fd(), EventSet.IN, WAKE_DATA);
        } catch (RuntimeException e) {
            epoll.close();
            arena.close();
            throw e;
        }
    }

    /**
     * {@return a new loop; {@code name} names its thread and appears in its log messages} It holds an epoll fd and an
     * eventfd until {@link #close()}.
     *
     * @param name such as {@code "virtio-blk-0"}; the name of the thread {@link #start()} makes
     * @throws NativeCallException if the epoll fd or the eventfd cannot be made (such as {@code EMFILE})
     */
    public static EventLoop create(String name) {
        return new EventLoop(Objects.requireNonNull(name, "name"));
    }

    /** {@return how many registration slots were ever handed out, free ones included; for tests} */
    int slotsAllocated() {
        lock.lock();
        try {
            return usedSlots;
        } finally {
            lock.unlock();
        }
    }

    private int allocateSlot() {
        if (usedSlots == registrations.length) {
            registrations = Arrays.copyOf(registrations, usedSlots * 2);
            generations = Arrays.copyOf(generations, usedSlots * 2);
        }
        return usedSlots++;
    }

    /**
     * Adds {@code subscriber} and calls its {@link EventSubscriber#init}, on the calling thread with the loop's lock
     * held: {@code init} must not wait for the loop's thread.
     *
     * @param subscriber what to add
     * @return its id, for {@link #removeSubscriber}
     * @throws IllegalStateException if the loop is closed or closing
     * @throws RuntimeException what {@code init} threw, after undoing the registrations it made; the subscriber is
     *     then not added
     */
    public int addSubscriber(EventSubscriber subscriber) {
        Objects.requireNonNull(subscriber, "subscriber");
        lock.lock();
        try {
            requireOpen();
            Subscription subscription = new Subscription(nextSubscriberId++, subscriber);
            try {
                subscriber.init(subscription);
            } catch (RuntimeException e) {
                subscription.removeAll();
                throw e;
            }
            subscriptions.put(subscription.id, subscription);
            return subscription.id;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops watching every fd of subscriber {@code id}; when it returns, the subscriber is not running and will not run
     * again (called on another thread, it waits for the subscriber's event in progress, if any, to finish).
     * Called on the loop's thread (from a subscriber or a task), it returns at once; called from the subscriber's own
     * {@link EventSubscriber#process}, that call is its last.
     *
     * @param id what {@link #addSubscriber} returned
     * @return false if there was no such subscriber
     */
    public boolean removeSubscriber(int id) {
        lock.lock();
        try {
            Subscription subscription = subscriptions.remove(id);
            if (subscription == null) {
                return false;
            }
            subscription.removeAll();
            while (dispatching == subscription && dispatchingThread != Thread.currentThread()) {
                dispatchDone.awaitUninterruptibly(); // must not return while it still runs
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Runs {@code task} on the loop's thread soon, after the events of the current batch. Safe from any thread.
     *
     * @param task what to run; an exception it throws is logged and counted in {@link #errorCount()}. Dropped if the
     *     loop closes first
     * @throws IllegalStateException if the loop is closed or closing
     */
    public void post(Runnable task) {
        Objects.requireNonNull(task, "task");
        lock.lock(); // against release() closing the wake-up eventfd under us
        try {
            requireOpen();
            tasks.add(task);
            wake.write(1);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits up to {@code timeoutMs} (-1: forever) for events, dispatches them, then runs posted tasks. Call it only from
     * the loop's thread (or instead of {@link #run()}).
     *
     * @param timeoutMs how long to wait for an event in milliseconds: 0 returns at once, -1 waits with no limit
     * @return the events and tasks handled; 0 when the time ran out or a signal interrupted the wait
     * @throws NativeCallException if {@code epoll_wait} fails other than by a signal
     * @throws IllegalStateException if the loop is closed
     */
    public int runOnce(int timeoutMs) {
        int count = Libc.epollWait(epoll.get(), events, MAX_EVENTS, timeoutMs);
        if (count < 0) {
            if (-count == LinuxHeaders.EINTR()) {
                return 0;
            }
            throw new NativeCallException("epoll_wait", -count, "in event loop " + name);
        }
        int handled = 0;
        for (int i = 0; i < count && !stopping; i++) {
            long base = i * EVENT_SIZE;
            int bits = events.get(ValueLayout.JAVA_INT_UNALIGNED, base + EVENTS_OFFSET);
            long data = events.get(ValueLayout.JAVA_LONG_UNALIGNED, base + DATA_OFFSET);
            if (data == WAKE_DATA) {
                wake.read();
                continue;
            }
            Registration registration;
            lock.lock();
            try {
                int slot = (int) data;
                registration = slot < registrations.length ? registrations[slot] : null;
                if (registration == null || registration.generation != (int) (data >>> 32)) {
                    continue; // removed earlier in this batch
                }
                dispatching = registration.owner;
                dispatchingThread = Thread.currentThread();
                event.set(registration.fd, bits, registration.data);
            } finally {
                lock.unlock();
            }
            handled++;
            try {
                registration.owner.subscriber.process(event, registration.owner);
            } catch (RuntimeException e) {
                errors.incrementAndGet();
                LOG.log(
                        System.Logger.Level.ERROR,
                        "event loop " + name + ": subscriber " + registration.owner.id + " failed on fd "
                                + registration.fd,
                        e);
            } finally {
                lock.lock();
                try {
                    dispatching = null;
                    dispatchingThread = null;
                    dispatchDone.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
        Runnable task;
        while (!stopping && (task = tasks.poll()) != null) {
            handled++;
            try {
                task.run();
            } catch (RuntimeException e) {
                errors.incrementAndGet();
                LOG.log(System.Logger.Level.ERROR, "event loop " + name + ": posted task failed", e);
            }
        }
        return handled;
    }

    /**
     * Runs the loop on the calling thread until {@link #close()}, then closes the loop's own fds.
     *
     * @throws IllegalStateException if the loop is closed, or runs on another thread already
     */
    public void run() {
        claim(Thread.currentThread());
        try {
            while (!stopping) {
                runOnce(-1);
            }
        } finally {
            release();
            finished.countDown();
        }
    }

    /**
     * Runs the loop on a new platform thread named after the loop.
     *
     * @return that thread, started
     * @throws IllegalStateException if the loop is closed or runs already
     */
    public Thread start() {
        return start(body -> Thread.ofPlatform().name(name).unstarted(body));
    }

    /**
     * Runs the loop on a thread {@code threads} makes (and this method starts), such as one that reports how it died.
     *
     * @param threads makes one unstarted thread for the loop's body; it should name it after {@link #name()}
     * @return that thread, started
     * @throws IllegalStateException if the loop is closed or runs already
     * @throws NullPointerException if {@code threads} makes no thread
     */
    public Thread start(ThreadFactory threads) {
        Thread thread = Objects.requireNonNull(threads.newThread(this::run), "the factory made no thread");
        claim(thread); // before it starts, so that a close() right away waits for it
        thread.start();
        return thread;
    }

    /** {@return the loop's name, which its thread also has when {@link #start()} makes it} */
    public String name() {
        return name;
    }

    private void claim(Thread thread) {
        lock.lock();
        try {
            if (loopThread == thread) {
                return; // start() claimed it; if close() came first, run() just releases and returns
            }
            requireOpen();
            if (loopThread != null) {
                throw new IllegalStateException("event loop " + name + " already runs on " + loopThread.getName());
            }
            loopThread = thread;
        } finally {
            lock.unlock();
        }
    }

    /** {@return how many subscriber calls and posted tasks have thrown} */
    public long errorCount() {
        return errors.get();
    }

    private void requireOpen() {
        if (closed || stopping) {
            throw new IllegalStateException("event loop " + name + " is closed");
        }
    }

    /**
     * Stops the loop, waits for its thread to leave, and closes the epoll fd and the loop's own eventfd. The
     * subscribers' fds stay open: their owners close them. Tasks posted and not yet run are dropped. A loop driven by
     * a caller's own {@link #runOnce} calls (no thread of its own) must be closed after that caller's last
     * {@code runOnce} has returned: its event buffer is freed here, and a wait still in the kernel would fill freed
     * memory.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (stopping) {
                return;
            }
            stopping = true;
            wake.write(1); // under the lock: release() closes the eventfd only while holding it
        } finally {
            lock.unlock();
        }
        Thread thread = loopThread;
        if (thread == Thread.currentThread()) {
            return; // called from a subscriber or task: run() releases everything as it returns
        }
        if (thread != null) {
            try {
                finished.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for event loop " + name + " to stop", e);
            }
        } else {
            release();
        }
    }

    /** Drops the subscriptions and tasks and closes the loop's own fds; once, after the loop has stopped. */
    private void release() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            List<Subscription> all = new ArrayList<>(subscriptions.values());
            subscriptions.clear();
            all.forEach(Subscription::removeAll);
            tasks.clear();
            wake.close();
            epoll.close();
            arena.close();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "EventLoop[" + name + "]";
    }
}
