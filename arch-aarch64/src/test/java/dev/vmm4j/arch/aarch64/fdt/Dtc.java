package dev.vmm4j.arch.aarch64.fdt;

import java.io.IOException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Runs dtc and fdtget (Debian's device-tree-compiler), the real peer the device tree tests check against. */
public final class Dtc {
    /** What a command printed and returned. */
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
                return ConditionEvaluationResult.enabled(AVAILABLE ? "dtc is installed" : "dtc is required here but missing");
            }
            return ConditionEvaluationResult.disabled("dtc and fdtget are not installed (apt-get install device-tree-compiler)");
        }
    }

    private Dtc() {}

    static boolean available() {
        try {
            return run("dtc", "--version").status() == 0 && run("fdtget", "--help").status() == 0;
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
        Process process = new ProcessBuilder(command).start();
        try {
            byte[] out = process.getInputStream().readAllBytes();
            byte[] err = process.getErrorStream().readAllBytes();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish");
            }
            return new Result(process.exitValue(), new String(out, StandardCharsets.UTF_8).strip(),
                    new String(err, StandardCharsets.UTF_8).strip());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
