// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.event;

/**
 * What a subscriber may do to the {@link EventLoop}: watch, re-arm and stop watching its own fds. Each registration
 * carries a {@code data} token that comes back with every event on that fd.
 *
 * <p><b>Thread safety:</b> use it in {@link EventSubscriber#init} and {@link EventSubscriber#process}, or from any
 * thread through {@link EventLoop#post}.
 */
public interface EventOps {
    /**
     * Starts watching {@code fd} for {@code events} ({@link EventSet} bits), with token {@code data}.
     *
     * @param fd an fd the subscriber owns and keeps open while it is watched; not a regular file, which epoll refuses
     * @param events {@link EventSet} bits, such as {@link EventSet#IN}; errors and hang-ups come without asking
     * @param data any value; it comes back as {@link Event#data()} with every event on {@code fd}
     * @throws IllegalStateException if this subscriber watches {@code fd} already (use {@link #modify}) or was
     *     removed
     * @throws dev.vmm4j.kvm.bindings.NativeCallException if epoll refuses {@code fd} ({@code EEXIST}: another
     *     subscriber of the loop watches it; {@code EPERM}: epoll cannot watch it)
     */
    void add(int fd, int events, int data);

    /**
     * Changes what is watched on {@code fd}, and its token. Does nothing once the subscriber was removed.
     *
     * @param fd an fd this subscriber watches
     * @param events the {@link EventSet} bits to watch for from now on, replacing the old ones
     * @param data the token for events from now on
     * @throws IllegalStateException if this subscriber does not watch {@code fd}
     * @throws dev.vmm4j.kvm.bindings.NativeCallException if epoll refuses the change (such as when {@code fd} was
     *     closed while watched)
     */
    void modify(int fd, int events, int data);

    /**
     * Stops watching {@code fd}. Events already collected for it are not delivered. Does nothing once the subscriber
     * was removed.
     *
     * @param fd an fd this subscriber watches; not closed, and it may be closed already
     * @throws IllegalStateException if this subscriber does not watch {@code fd}
     */
    void remove(int fd);
}
