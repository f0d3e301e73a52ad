// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.event;

import dev.vmm4j.kvm.bindings.LinuxHeaders;

/** The epoll event bits a subscriber asks for and is told about; combine them with {@code |}. */
public final class EventSet {
    /** The fd is readable ({@code EPOLLIN}). */
    public static final int IN = LinuxHeaders.EPOLLIN();
    /** The fd is writable ({@code EPOLLOUT}). */
    public static final int OUT = LinuxHeaders.EPOLLOUT();
    /** An error on the fd ({@code EPOLLERR}); always reported, never needs asking for. */
    public static final int ERROR = LinuxHeaders.EPOLLERR();
    /** The peer hung up ({@code EPOLLHUP}); always reported, never needs asking for. */
    public static final int HANG_UP = LinuxHeaders.EPOLLHUP();
    /** The peer shut down its writing half ({@code EPOLLRDHUP}). */
    public static final int READ_HANG_UP = LinuxHeaders.EPOLLRDHUP();
    /** Report changes only, not levels ({@code EPOLLET}). */
    public static final int EDGE_TRIGGERED = LinuxHeaders.EPOLLET();

    private EventSet() {}
}
