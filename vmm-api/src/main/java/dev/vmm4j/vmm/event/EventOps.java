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
    /** Starts watching {@code fd} for {@code events} ({@link EventSet} bits), with token {@code data}. */
    void add(int fd, int events, int data);

    /** Changes what is watched on {@code fd}, and its token. */
    void modify(int fd, int events, int data);

    /** Stops watching {@code fd}. Events already collected for it are not delivered. */
    void remove(int fd);
}
