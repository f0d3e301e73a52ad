// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.fdt;

import dev.vmm4j.vmm.testing.ExternalCommand;
import java.io.IOException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Runs dtc and fdtget (Debian's device-tree-compiler), the real peer the device tree tests check against. */
public final class Dtc {
    /** What a command printed (stripped of surrounding blanks, as fdtget ends in a newline) and returned. */
    public record Result(int status, String out, String err) {}

    /**
     * Tests that need dtc: skipped with the reason without it, unless {@code vmm4j.requireDtc} is true (CI), where they
     * run and fail naming what is missing.
     */
    @Target(ElementType.TYPE)
    @Retention(RetentionPolicy.RUNTIME)
    @ExtendWith(Condition.class)
    public @interface Required {}

    /** Decides once per run. */
    public static final class Condition implements ExecutionCondition {
        private static final boolean AVAILABLE = available();

        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            if (AVAILABLE || Boolean.getBoolean("vmm4j.requireDtc")) {
                return ConditionEvaluationResult.enabled(
                        AVAILABLE ? "dtc is installed" : "dtc is required here but missing");
            }
            return ConditionEvaluationResult.disabled(
                    "dtc and fdtget are not installed (apt-get install device-tree-compiler)");
        }
    }

    private Dtc() {}

    static boolean available() {
        try {
            return run("dtc", "--version").status() == 0
                    && run("fdtget", "--help").status() == 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** {@return {@code dtc -I dtb -O dts} of {@code dtb}} */
    public static Result decompile(Path dtb) throws IOException {
        return run("dtc", "-I", "dtb", "-O", "dts", dtb.toString());
    }

    /** {@return {@code fdtget [options] dtb node property}} */
    public static Result get(Path dtb, String... args) throws IOException {
        // fdtget takes its options before the file.
        List<String> ordered = new ArrayList<>(List.of("fdtget"));
        for (String arg : args) {
            if (arg.startsWith("-")) {
                ordered.add(arg);
            }
        }
        ordered.add(dtb.toString());
        for (String arg : args) {
            if (!arg.startsWith("-")) {
                ordered.add(arg);
            }
        }
        return run(ordered.toArray(String[]::new));
    }

    private static Result run(String... command) throws IOException {
        ExternalCommand.Result result = ExternalCommand.run(Duration.ofMinutes(1), List.of(command));
        return new Result(result.status(), result.out().strip(), result.err().strip());
    }
}
