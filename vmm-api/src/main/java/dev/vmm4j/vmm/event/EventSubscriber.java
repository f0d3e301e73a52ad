// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.event;

/**
 * Something that reacts to events on fds it owns: a device's queue notifications, a socket, a timer. Added to an
 * {@link EventLoop}, it registers its fds in {@link #init} and handles them in {@link #process}; through the
 * {@link EventOps} it gets, it can change only its own registrations.
 *
 * <p>The subscriber owns its fds: the loop never closes them, and removing the subscriber only stops watching them.
 *
 * <p><b>Thread safety:</b> {@link #init} runs on the thread that adds the subscriber, {@link #process} on the loop's
 * thread, one call at a time, never both at once: a subscriber needs no locking of its own for what only these touch.
 */
public interface EventSubscriber {
    /**
     * Registers the fds to watch. Called once, when the subscriber is added, with the loop's lock held: it must not
     * wait for the loop's thread. If it throws, the registrations it made are undone and the subscriber is not added.
     *
     * @param ops this subscriber's ops, the same object {@link #process} gets; it may be kept for later use from
     *     {@link #process} or a task given to {@link EventLoop#post}
     */
    void init(EventOps ops);

    /**
     * Handles {@code event}, on the loop's thread. An exception is logged and counted and the loop goes on; an
     * {@link Error} ends the loop (in a VM, the VM ends with a failure naming the loop's thread).
     *
     * @param event what happened; reused for the next event, so read it during this call only
     * @param ops this subscriber's ops, to change its registrations (re-arm, remove an fd that hung up)
     */
    void process(Event event, EventOps ops);
}
