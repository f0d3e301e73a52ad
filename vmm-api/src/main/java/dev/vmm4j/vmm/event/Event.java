// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.event;

/**
 * What happened on one fd, as the {@link EventLoop} hands it to {@link EventSubscriber#process}: reused for every
 * event, so valid only during that call.
 *
 * <p><b>Thread safety:</b> event-loop-thread confined.
 */
public final class Event {
    private int fd;
    private int events;
    private int data;

    Event() {}

    Event set(int fd, int events, int data) {
        this.fd = fd;
        this.events = events;
        this.data = data;
        return this;
    }

    /** {@return the fd the event is on} */
    public int fd() {
        return fd;
    }

    /** {@return the {@link EventSet} bits that happened} */
    public int events() {
        return events;
    }

    /** {@return the token the subscriber gave when it added the fd} */
    public int data() {
        return data;
    }

    /** {@return whether the fd is readable} */
    public boolean isReadable() {
        return (events & EventSet.IN) != 0;
    }

    /** {@return whether the fd is writable} */
    public boolean isWritable() {
        return (events & EventSet.OUT) != 0;
    }

    /** {@return whether the fd reported an error or a hang-up} */
    public boolean isErrorOrHangUp() {
        return (events & (EventSet.ERROR | EventSet.HANG_UP)) != 0;
    }

    @Override
    public String toString() {
        return "Event[fd " + fd + ", events " + Integer.toHexString(events) + ", data " + data + "]";
    }
}
