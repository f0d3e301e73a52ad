// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Landlock in a child JVM: the restricted thread and the threads it starts reach only their paths; a thread that
 * existed before is not restricted at all, which this test pins down so that nobody relies on the opposite.
 */
class LandlockTest {
    @TempDir
    Path dir;

    @Test
    void theRestrictedThreadAndItsNewThreadsReachOnlyTheirPathsButOlderThreadsAreFree() throws Exception {
        assumeTrue(Landlock.abiVersion() > 0, "this kernel has no Landlock (not built in, or not in lsm=)");
        ChildJvm child = ChildJvm.run(
                LandlockChild.class, List.of("-Djdk.virtualThreadScheduler.parallelism=1"), dir.toString());
        assertEquals(0, child.exitCode(), child.transcript());
        assertTrue(child.stdout().contains("applied true"), child.transcript());
        Map<String, String> results = child.values("landlock");

        assertEquals("ok", results.get("restricted-create"), child.transcript());
        assertEquals("EACCES", results.get("restricted-passwd"), child.transcript());
        assertEquals("ok", results.get("restricted-jdk"), "read-only paths stay readable");
        assertEquals("ok", results.get("started-after-create"));
        assertEquals("EACCES", results.get("started-after-passwd"), "a thread started afterwards is restricted too");
        // The fact to know: Landlock (before ABI 8) restricts one thread and its later children, never the threads
        // that already run, such as the JVM's own and any pool started earlier.
        assertEquals("ok", results.get("started-before-passwd"), "a thread started before is NOT restricted");
        // And so a virtual thread, started by the restricted thread, runs unrestricted on a carrier that was started
        // before: Landlock does not fence virtual threads.
        assertEquals("ok", results.get("virtual-passwd"), "a virtual thread is NOT restricted by its starter's rules");
        assertTrue(Files.exists(dir.resolve("made-by-restricted")));
        assertTrue(Files.exists(dir.resolve("made-by-started-after")));
    }

    @Test
    void aMissingPathIsAnErrorThatNamesIt() throws Exception {
        assumeTrue(Landlock.abiVersion() > 0, "this kernel has no Landlock (not built in, or not in lsm=)");
        ChildJvm child = ChildJvm.run(LandlockChild.class, List.of(), dir.toString());
        String missing = child.stdout()
                .lines()
                .filter(l -> l.startsWith("missing "))
                .findFirst()
                .orElseThrow();
        assertEquals(
                "missing cannot add Landlock rule for " + dir.resolve("missing") + ": open " + dir.resolve("missing")
                        + " failed: ENOENT (No such file or directory): a Landlock rule needs an existing file or"
                        + " directory",
                missing);
    }

    @Test
    void theAbiVersionIsKnownHere() {
        int abi = Landlock.abiVersion();
        assertTrue(abi >= 0, "abi " + abi);
    }
}
