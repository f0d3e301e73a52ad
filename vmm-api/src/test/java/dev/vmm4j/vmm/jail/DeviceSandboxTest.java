// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeviceSandboxTest {
    private static final Path BWRAP = Path.of("/usr/bin/bwrap");

    @TempDir
    Path dir;

    @Test
    void eachOptionMayBeSetOnlyOnce() {
        DeviceSandbox.Builder builder = DeviceSandbox.builder()
                .bubblewrap(BWRAP)
                .javaOptions("-Xmx64m")
                .requestTimeout(Duration.ofSeconds(1))
                .startTimeout(Duration.ofSeconds(5));

        assertSetTwice("bubblewrap", () -> builder.bubblewrap(BWRAP));
        assertSetTwice("javaOptions", () -> builder.javaOptions());
        assertSetTwice("requestTimeout", () -> builder.requestTimeout(Duration.ofSeconds(1)));
        assertSetTwice("startTimeout", () -> builder.startTimeout(Duration.ofSeconds(1)));
    }

    private static void assertSetTwice(String option, Runnable secondCall) {
        IllegalStateException e = assertThrows(IllegalStateException.class, secondCall::run);
        assertEquals(option + " is already set; each option may be set once", e.getMessage());
    }

    @Test
    void timeoutsMustBeAtLeastAMillisecond() {
        for (Duration bad : List.of(Duration.ZERO, Duration.ofMillis(-1), Duration.ofNanos(999_999))) {
            IllegalArgumentException request = assertThrows(
                    IllegalArgumentException.class,
                    () -> DeviceSandbox.builder().requestTimeout(bad),
                    bad.toString());
            assertEquals("requestTimeout must be at least 1 ms, got " + bad, request.getMessage());
            IllegalArgumentException start = assertThrows(
                    IllegalArgumentException.class,
                    () -> DeviceSandbox.builder().startTimeout(bad),
                    bad.toString());
            assertTrue(start.getMessage().startsWith("startTimeout must be at least 1 ms"), start.getMessage());
        }
        assertEquals(
                Duration.ofMillis(1),
                DeviceSandbox.builder()
                        .requestTimeout(Duration.ofMillis(1))
                        .build()
                        .requestTimeout());
    }

    @Test
    void aRefusedValueLeavesTheOptionUnset() {
        DeviceSandbox.Builder builder = DeviceSandbox.builder();
        assertThrows(IllegalArgumentException.class, () -> builder.requestTimeout(Duration.ZERO));
        assertThrows(NullPointerException.class, () -> builder.startTimeout(null));
        assertThrows(NullPointerException.class, () -> builder.bubblewrap(null));

        DeviceSandbox sandbox = builder.requestTimeout(Duration.ofMillis(300))
                .startTimeout(Duration.ofSeconds(9))
                .bubblewrap(BWRAP)
                .build();

        assertEquals(Duration.ofMillis(300), sandbox.requestTimeout());
        assertEquals(Duration.ofSeconds(9), sandbox.startTimeout());
        assertEquals(Optional.of(BWRAP), sandbox.bubblewrapExecutable());
    }

    @Test
    void theDefaultsAreCrosvmsRequestTimeoutAndAMinuteToStart() {
        DeviceSandbox sandbox = DeviceSandbox.builder().bubblewrap(BWRAP).build();

        assertEquals(Duration.ofSeconds(2), sandbox.requestTimeout());
        assertEquals(Duration.ofSeconds(60), sandbox.startTimeout());
        assertEquals(List.of(), sandbox.javaOptions());
    }

    @Test
    void javaOptionsAreKeptInOrder() {
        DeviceSandbox sandbox =
                DeviceSandbox.builder().javaOptions("-Xmx256m", "-Dfoo=bar").build();

        assertEquals(List.of("-Xmx256m", "-Dfoo=bar"), sandbox.javaOptions());
        assertTrue(sandbox.toString().contains("java [-Xmx256m, -Dfoo=bar]"), sandbox.toString());
    }

    @Test
    void aMissingBubblewrapIsAProblemThatSaysSo() {
        Path missing = Path.of("/nonexistent/bwrap");
        DeviceSandbox sandbox = DeviceSandbox.builder().bubblewrap(missing).build();

        List<String> problems = sandbox.problems();
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(
                problems.getFirst()
                        .startsWith(
                                "the device sandbox's bubblewrap /nonexistent/bwrap is not an executable" + " file: "),
                problems.toString());
        assertTrue(problems.getFirst().contains("--disable-sandbox"), "how to do without: " + problems);
    }

    @Test
    void aBubblewrapThatIsNotExecutableIsAProblemThatSaysSo() throws IOException {
        Path notExecutable = Files.writeString(dir.resolve("bwrap"), "#!/bin/sh\nexit 0\n");

        List<String> problems =
                DeviceSandbox.builder().bubblewrap(notExecutable).build().problems();

        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.getFirst().contains(notExecutable + " is not an executable file"), problems.toString());
    }

    @Test
    void aBubblewrapThatCannotMakeTheNamespacesIsAProblemThatQuotesIt() throws IOException {
        Path failing =
                Files.writeString(dir.resolve("bwrap"), "#!/bin/sh\necho 'no user namespaces here' >&2\nexit 1\n");
        assertTrue(failing.toFile().setExecutable(true));

        List<String> problems =
                DeviceSandbox.builder().bubblewrap(failing).build().problems();

        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.getFirst().contains("no user namespaces here"), problems.toString());
        assertTrue(problems.getFirst().contains("--disable-sandbox"), problems.toString());
    }

    @Test
    void theRealBubblewrapOnThisHostHasNoProblems() {
        assumeTrue(Files.isExecutable(BWRAP), "bubblewrap is not installed at " + BWRAP);
        DeviceSandbox sandbox = DeviceSandbox.builder().bubblewrap(BWRAP).build();

        assertEquals(List.of(), sandbox.problems());
    }

    @Test
    void bubblewrapFromPathIsFoundWhenNoneIsGiven() {
        assumeTrue(Files.isExecutable(BWRAP), "bubblewrap is not installed at " + BWRAP);
        DeviceSandbox sandbox = DeviceSandbox.bubblewrap();

        assertTrue(sandbox.bubblewrapExecutable().isPresent(), "bwrap is on PATH here: " + System.getenv("PATH"));
        assertTrue(sandbox.bubblewrapExecutable().get().endsWith("bwrap"), sandbox.toString());
    }

    @Test
    void toStringNamesBubblewrapAndTheRequestTimeout() {
        DeviceSandbox sandbox = DeviceSandbox.builder()
                .bubblewrap(BWRAP)
                .requestTimeout(Duration.ofMillis(1500))
                .build();

        assertEquals(
                "DeviceSandbox[bwrap /usr/bin/bwrap, request timeout 1500 ms, start timeout 60 s]", sandbox.toString());
    }
}
