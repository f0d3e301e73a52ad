// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vmm4j.vmm.event.EventFd;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real device processes: {@link EchoDeviceMain} in a JVM jailed by bubblewrap, started with {@link DeviceProcess}.
 * Skipped where bubblewrap cannot make the sandbox; each test starts a JVM, so they take seconds, not milliseconds.
 */
class DeviceProcessTest {
    /** Generous: a JVM starting in a jail on a loaded two-core machine. */
    private static final Duration WAIT = Duration.ofSeconds(60);

    private static DeviceSandbox sandbox;

    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    private final ThreadFactory threadFactory = r -> {
        Thread thread = Thread.ofPlatform().daemon().unstarted(r);
        threads.add(thread);
        return thread;
    };
    private final LinkedBlockingQueue<DeviceProcessException> deaths = new LinkedBlockingQueue<>();

    @TempDir
    Path dir;

    @BeforeAll
    static void needsBubblewrap() {
        sandbox = DeviceSandbox.bubblewrap();
        List<String> problems = sandbox.problems();
        assumeTrue(problems.isEmpty(), problems.toString());
    }

    @AfterEach
    void everyThreadEnds() throws InterruptedException {
        for (Thread thread : threads) {
            thread.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(thread.isAlive(), thread + " outlived its device process");
        }
    }

    private DeviceProcess start(String mainClass) throws IOException {
        return DeviceProcess.start(
                sandbox, new DeviceLaunch("echo", mainClass, List.of(), List.of()), threadFactory, deaths::add);
    }

    /** Sends {@code text} with {@code event} and {@return the child's answer} */
    private static String handshake(DeviceProcess process, String text, EventFd event) throws IOException {
        process.socket().send(text.getBytes(StandardCharsets.UTF_8), List.of(event.fd()));
        FdSocket.Message answer = process.socket().receive(WAIT).orElseThrow();
        assertEquals(List.of(), answer.fds());
        return new String(answer.bytes(), StandardCharsets.UTF_8);
    }

    /** Waits for all threads of the process (the keeper, the stderr reader) to end, so every death is reported. */
    private void awaitThreads() throws InterruptedException {
        for (Thread thread : threads) {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        }
    }

    @Test
    void theChildConnectsWritesTheEventfdItWasSentAndAnswers() throws Exception {
        // Open while the child starts: it must not inherit it.
        Path secret = Files.writeString(dir.resolve("parent-secret.txt"), "the VMM's");
        try (FileChannel held = FileChannel.open(secret);
                EventFd event = EventFd.create();
                DeviceProcess process = start(EchoDeviceMain.class.getName())) {
            assertTrue(process.isAlive());
            assertEquals("echo", process.device());

            String[] answer = handshake(process, "hello", event).split(" ", 3);

            assertEquals("ok", answer[0]);
            assertEquals(1, event.read(), "the child's write to the eventfd it received");
            int fds = Integer.parseInt(answer[1]);
            String targets = answer.length > 2 ? answer[2] : "";
            assertTrue(fds <= 16, "the child has only a handful of fds open: " + targets);
            assertFalse(targets.contains(secret.getFileName().toString()), targets);
            assertTrue(held.isOpen());
        }
        awaitThreads();
        assertEquals(List.of(), List.copyOf(deaths), "a child that exits when asked to is no death");
    }

    @Test
    void closeEndsTheChildWithoutReportingADeath() throws Exception {
        DeviceProcess process = start(EchoDeviceMain.class.getName());
        List<ProcessHandle> jail = process.processes();
        try (EventFd event = EventFd.create()) {
            assertTrue(handshake(process, "hello", event).startsWith("ok "));
        }
        assertFalse(jail.isEmpty());

        process.close();
        process.close();

        assertFalse(process.isAlive());
        for (ProcessHandle handle : jail) {
            handle.onExit().get(30, TimeUnit.SECONDS);
            assertFalse(handle.isAlive(), handle + " of the jail");
        }
        awaitThreads();
        assertEquals(List.of(), List.copyOf(deaths));
    }

    @Test
    void aChildThatExitsOnItsOwnIsReportedOnceWithItsStatus() throws Exception {
        try (EventFd event = EventFd.create();
                DeviceProcess process = start(EchoDeviceMain.class.getName())) {
            assertTrue(handshake(process, "die", event).startsWith("ok "));

            DeviceProcessException death = deaths.poll(WAIT.toSeconds(), TimeUnit.SECONDS);

            assertNotNull(death, "the child's exit was not reported");
            assertTrue(death.getMessage().contains("echo"), death.getMessage());
            assertTrue(death.getMessage().contains("exited with status 7"), death.getMessage());
            assertFalse(process.isAlive());
        }
        awaitThreads();
        assertEquals(List.of(), List.copyOf(deaths), "reported once");
    }

    @Test
    void aKilledChildIsReportedAsKilledBySignal9() throws Exception {
        try (EventFd event = EventFd.create();
                DeviceProcess process = start(EchoDeviceMain.class.getName())) {
            assertTrue(handshake(process, "hello", event).startsWith("ok "));

            process.kill();

            DeviceProcessException death = deaths.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertNotNull(death, "the kill was not reported");
            assertTrue(death.getMessage().contains("was killed by signal 9"), death.getMessage());
        }
        awaitThreads();
        assertEquals(List.of(), List.copyOf(deaths), "reported once");
    }

    @Test
    void aMissingMainClassFailsStartQuotingTheChildsStderr() throws Exception {
        DeviceProcessException e =
                assertThrows(DeviceProcessException.class, () -> start("dev.vmm4j.vmm.jail.NoSuchDeviceMain"));

        assertTrue(e.getMessage().contains("echo"), e.getMessage());
        assertTrue(e.getMessage().contains("before it connected"), e.getMessage());
        assertTrue(
                e.getMessage().contains("ClassNotFoundException")
                        || e.getMessage().contains("Could not find or load main class"),
                e.getMessage());
    }
}
