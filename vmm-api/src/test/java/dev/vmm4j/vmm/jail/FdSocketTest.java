// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FdSocketTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aMessageCarriesItsBytesAndAnEventfdThatIsTheSameObjectOnBothEnds() throws IOException {
        FdSocket[] pair = FdSocket.pair();
        try (FdSocket vmm = pair[0];
                FdSocket device = pair[1];
                EventFd original = EventFd.create()) {
            vmm.send(bytes("irqfd"), List.of(original.fd()));

            FdSocket.Message message = device.receive(WAIT).orElseThrow();
            assertEquals("irqfd", new String(message.bytes(), StandardCharsets.UTF_8));
            assertEquals(1, message.fds().size());
            try (EventFd copy = EventFd.adopt(message.fds().getFirst().release(), false)) {
                copy.write(5);
                assertEquals(5, original.read(), "a write to the received fd is seen on the sender's eventfd");
                original.write(3);
                assertEquals(3, copy.read(), "and the other way round");
            }
        }
    }

    @Test
    void aMessageWithoutFdsArrivesWithAnEmptyFdList() throws IOException {
        FdSocket[] pair = FdSocket.pair();
        try (FdSocket a = pair[0];
                FdSocket b = pair[1]) {
            a.send(bytes("first"), List.of());
            a.send(bytes("second"), List.of());
            FdSocket.Message first = b.receive(WAIT).orElseThrow();
            FdSocket.Message second = b.receive(WAIT).orElseThrow();
            assertEquals("first", new String(first.bytes(), StandardCharsets.UTF_8), "message boundaries are kept");
            assertEquals("second", new String(second.bytes(), StandardCharsets.UTF_8));
            assertEquals(List.of(), first.fds());
        }
    }

    @Test
    void receivedFdsAreCloseOnExec() throws IOException {
        FdSocket[] pair = FdSocket.pair();
        try (FdSocket a = pair[0];
                FdSocket b = pair[1];
                EventFd event = EventFd.create()) {
            a.send(bytes("x"), List.of(event.fd(), event.fd()));
            List<OwnedFd> fds = b.receive(WAIT).orElseThrow().fds();
            try {
                assertEquals(2, fds.size());
                for (OwnedFd fd : fds) {
                    int flags = Libc.fcntl(fd.get(), LinuxHeaders.F_GETFD(), 0);
                    assertTrue(flags >= 0, "F_GETFD failed: " + flags);
                    assertEquals(LinuxHeaders.FD_CLOEXEC(), flags & LinuxHeaders.FD_CLOEXEC(), fd.toString());
                }
            } finally {
                fds.forEach(OwnedFd::close);
            }
        }
    }

    @Test
    void receivedFdsAreCloseOnExecFromTheMomentTheyArrive() throws Exception {
        // Set afterwards (fcntl F_SETFD), a fork and exec in another thread in between would leak the fd; the child
        // refuses F_SETFD, so only recvmsg's MSG_CMSG_CLOEXEC can make it close-on-exec there.
        ChildJvm child = ChildJvm.run(CloseOnExecChild.class, List.of());
        assertEquals(0, child.exitCode(), child.transcript());
        assertTrue(child.stdout().contains("close-on-exec true"), child.transcript());
    }

    @Test
    void aMessageMayCarryTheMostBytesAndTheMostFds() throws IOException {
        FdSocket[] pair = FdSocket.pair();
        try (FdSocket a = pair[0];
                FdSocket b = pair[1];
                EventFd event = EventFd.create()) {
            byte[] largest = new byte[FdSocket.MAX_MESSAGE];
            largest[FdSocket.MAX_MESSAGE - 1] = 42;
            a.send(largest, Collections.nCopies(FdSocket.MAX_FDS, event.fd()));
            FdSocket.Message message = b.receive(WAIT).orElseThrow();
            try {
                assertArrayEquals(largest, message.bytes());
                assertEquals(FdSocket.MAX_FDS, message.fds().size());
            } finally {
                message.fds().forEach(OwnedFd::close);
            }
        }
    }

    @Test
    void tooManyFdsTooManyBytesOrNoBytesAreRefusedBeforeSending() throws IOException {
        FdSocket[] pair = FdSocket.pair();
        try (FdSocket a = pair[0];
                FdSocket b = pair[1];
                EventFd event = EventFd.create()) {
            IllegalArgumentException fds = assertThrows(
                    IllegalArgumentException.class,
                    () -> a.send(bytes("x"), Collections.nCopies(FdSocket.MAX_FDS + 1, event.fd())));
            assertTrue(fds.getMessage().contains("254 fds"), fds.getMessage());
            IllegalArgumentException tooLong = assertThrows(
                    IllegalArgumentException.class, () -> a.send(new byte[FdSocket.MAX_MESSAGE + 1], List.of()));
            assertTrue(tooLong.getMessage().contains((FdSocket.MAX_MESSAGE + 1) + " bytes"), tooLong.getMessage());
            assertThrows(IllegalArgumentException.class, () -> a.send(new byte[0], List.of()));

            IOException nothing = assertThrows(IOException.class, () -> b.receive(Duration.ofMillis(50)));
            assertTrue(nothing.getMessage().contains("within 50 ms"), "nothing was sent: " + nothing.getMessage());
        }
    }

    @Test
    void aMessageLongerThanTheMostIsRefusedOnReceipt() throws IOException {
        FdSocket[] pair = FdSocket.pair();
        try (FdSocket a = pair[0];
                FdSocket b = pair[1];
                Arena arena = Arena.ofConfined()) {
            // Written past send's own check, as a hostile peer would.
            MemorySegment tooLong = arena.allocate(FdSocket.MAX_MESSAGE + 100);
            assertEquals(tooLong.byteSize(), Libc.write(a.fd(), tooLong));
            IOException e = assertThrows(IOException.class, () -> b.receive(WAIT));
            assertTrue(e.getMessage().contains("longer than " + FdSocket.MAX_MESSAGE), e.getMessage());
        }
    }

    @Test
    void receiveGivesUpAfterItsTimeoutNamingWhatItWaitedFor() {
        FdSocket[] pair = FdSocket.pair();
        try (FdSocket a = pair[0];
                FdSocket b = pair[1]) {
            IOException e = assertThrows(IOException.class, () -> b.receive(Duration.ofMillis(100)));
            assertTrue(e.getMessage().contains("message"), e.getMessage());
            assertTrue(e.getMessage().contains("within 100 ms"), e.getMessage());
        }
    }

    @Test
    void receiveIsEmptyOnceThePeerHasClosed() throws IOException {
        FdSocket[] pair = FdSocket.pair();
        try (FdSocket b = pair[1]) {
            pair[0].send(bytes("last words"), List.of());
            pair[0].close();
            assertEquals("last words", new String(b.receive(WAIT).orElseThrow().bytes(), StandardCharsets.UTF_8));
            assertEquals(Optional.empty(), b.receive(WAIT));
            assertEquals(Optional.empty(), b.receive(WAIT), "and stays so");
        }
    }

    @Test
    void sendingToAClosedPeerFails() {
        FdSocket[] pair = FdSocket.pair();
        try (FdSocket a = pair[0]) {
            pair[1].close();
            IOException e = assertThrows(IOException.class, () -> a.send(bytes("x"), List.of()));
            assertTrue(e.getMessage().contains("sendmsg"), e.getMessage());
        }
    }

    @Test
    void connectingWhereNothingListensFailsNamingThePath() {
        Path nobody = dir.resolve("nobody.sock");
        IOException e = assertThrows(IOException.class, () -> FdSocket.connect(nobody));
        assertTrue(e.getMessage().contains(nobody.toString()), e.getMessage());
    }

    @Test
    void connectReachesAListeningSocket() throws IOException {
        Path path = dir.resolve("device.sock");
        try (OwnedFd listener = new OwnedFd(
                Libc.socket(LinuxHeaders.AF_UNIX(), LinuxHeaders.SOCK_SEQPACKET(), "test listener"), "listener")) {
            Libc.bindAndListen(listener.get(), path);
            try (FdSocket device = FdSocket.connect(path);
                    FdSocket vmm = FdSocket.adopt(acceptBlocking(listener.get()), "accepted")) {
                device.send(bytes("ready"), List.of());
                assertEquals("ready", new String(vmm.receive(WAIT).orElseThrow().bytes(), StandardCharsets.UTF_8));
            }
        }
    }

    private static int acceptBlocking(int listener) throws IOException {
        FdSocket.awaitReadable(listener, WAIT, "a connection");
        int fd = Libc.accept(listener);
        assertTrue(fd >= 0, "accept4: " + fd);
        Libc.fcntl(fd, LinuxHeaders.F_SETFL(), 0);
        return fd;
    }

    @Test
    void manyRoundTripsWithFdsLeakNoFd() throws IOException {
        FdSocket[] pair = FdSocket.pair();
        try (FdSocket a = pair[0];
                FdSocket b = pair[1];
                EventFd event = EventFd.create()) {
            roundTrips(a, b, event, 10); // loads every class and thread-local buffer first
            long before = openFds();
            roundTrips(a, b, event, 300);
            assertEquals(before, openFds());
        }
    }

    private static void roundTrips(FdSocket a, FdSocket b, EventFd event, int count) throws IOException {
        for (int i = 0; i < count; i++) {
            a.send(bytes("round " + i), List.of(event.fd(), event.fd(), event.fd()));
            FdSocket.Message message = b.receive(WAIT).orElseThrow();
            assertEquals(3, message.fds().size());
            message.fds().forEach(OwnedFd::close);
        }
    }

    private static long openFds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    @Test
    void aReleasedFdIsTheCallersAndCloseNoLongerTouchesIt() {
        try (EventFd event = EventFd.create()) {
            int dup = Libc.fcntl(event.fd(), LinuxHeaders.F_DUPFD_CLOEXEC(), 0);
            OwnedFd owned = new OwnedFd(dup, "dup of an eventfd");
            assertEquals(dup, owned.release());
            owned.close();
            assertTrue(Libc.fcntl(dup, LinuxHeaders.F_GETFD(), 0) >= 0, "close after release left the fd open");
            IllegalStateException twice = assertThrows(IllegalStateException.class, owned::release);
            assertTrue(twice.getMessage().contains("dup of an eventfd"), twice.getMessage());
            try (EventFd adopted = EventFd.adopt(dup, false)) {
                assertEquals(dup, adopted.fd());
            }
        }
    }
}
