// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vmm4j.kvm.bindings.epoll_event;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The kernel structures Libc lays out itself, and the checks it makes of a buffer before a system call. */
class LibcLayoutTest {
    /** jextract's bindings come from x86_64's headers, where the kernel packs struct epoll_event. */
    @Test
    void epollEventIsJextractsLayoutOnX86_64() {
        assumeTrue(System.getProperty("os.arch").equals("amd64"), "the bindings are x86_64's");
        assertEquals(epoll_event.sizeof(), Libc.EPOLL_EVENT_BYTES);
        assertEquals(epoll_event.data$offset(), Libc.EPOLL_EVENT_DATA_OFFSET);
    }

    /** What a downcall would refuse of a segment argument, a system call refuses too, before the kernel sees it. */
    @Test
    void aBufferMustBeNativeOpenAndThisThreads() throws Exception {
        int[] pipe = Libc.socketpair(dev.vmm4j.kvm.bindings.LinuxHeaders.SOCK_STREAM());
        try {
            assertThrows(IllegalArgumentException.class, () -> Libc.read(pipe[0], MemorySegment.ofArray(new byte[8])));
            MemorySegment freed;
            try (Arena arena = Arena.ofConfined()) {
                freed = arena.allocate(8);
            }
            MemorySegment closed = freed;
            assertThrows(IllegalStateException.class, () -> Libc.write(pipe[1], closed));
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment mine = arena.allocate(8);
                Throwable[] thrown = new Throwable[1];
                Thread other = Thread.ofPlatform().start(() -> {
                    try {
                        Libc.write(pipe[1], mine);
                    } catch (Throwable t) {
                        thrown[0] = t;
                    }
                });
                other.join();
                assertEquals(WrongThreadException.class, thrown[0] == null ? null : thrown[0].getClass());
                assertEquals(8, Libc.write(pipe[1], mine), "the owner may");
            }
        } finally {
            Libc.close(pipe[0]);
            Libc.close(pipe[1]);
        }
    }
}
