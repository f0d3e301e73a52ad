// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.acpi;

import dev.vmm4j.vmm.testing.ExternalCommand;
import java.io.IOException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Runs iasl (Debian's acpica-tools), the real peer the ACPI table tests check against: it disassembles each table. */
final class Iasl {
    /** What disassembling one table gave: iasl's status and messages, and the disassembly. */
    record Disassembly(int status, String messages, String source) {}

    /**
     * Tests that need iasl: skipped with the reason without it, unless {@code vmm4j.requireIasl} is true (CI), where
     * they run and fail naming what is missing.
     */
    @Target(ElementType.TYPE)
    @Retention(RetentionPolicy.RUNTIME)
    @ExtendWith(Condition.class)
    @interface Required {}

    /** Decides once per run. */
    static final class Condition implements ExecutionCondition {
        private static final boolean AVAILABLE = available();

        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            if (AVAILABLE || Boolean.getBoolean("vmm4j.requireIasl")) {
                return ConditionEvaluationResult.enabled(
                        AVAILABLE ? "iasl is installed" : "iasl is required here but missing");
            }
            return ConditionEvaluationResult.disabled("iasl is not installed (apt-get install acpica-tools)");
        }
    }

    private Iasl() {}

    private static boolean available() {
        try {
            return ExternalCommand.run(Duration.ofMinutes(1), List.of("iasl", "-v"))
                            .status()
                    == 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** {@return iasl's disassembly of {@code table}, written as {@code name}.dat in {@code dir}} */
    static Disassembly disassemble(Path dir, String name, byte[] table) throws IOException {
        Path file = Files.write(dir.resolve(name + ".dat"), table);
        ExternalCommand.Result result =
                ExternalCommand.run(Duration.ofMinutes(1), List.of("iasl", "-d", file.toString()));
        Path dsl = dir.resolve(name + ".dsl");
        String source = Files.exists(dsl) ? Files.readString(dsl) : "";
        return new Disassembly(result.status(), result.out() + result.err(), source);
    }
}
