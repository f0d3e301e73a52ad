// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a test main class in a child JVM, as a jailed device process would be: same JDK, same class path (under
 * surefire that is its booter jar, whose manifest carries the real class path), native access enabled.
 *
 * @param exitCode the child's exit status
 * @param stdout what it printed
 * @param stderr what it printed on stderr
 */
record ChildJvm(int exitCode, String stdout, String stderr) {
    /** {@return the child's run of {@code main} with {@code jvmOptions} and {@code args}, within 90 seconds} */
    static ChildJvm run(Class<?> main, List<String> jvmOptions, String... args)
            throws IOException, InterruptedException {
        Path out = Files.createTempFile("vmm4j-jail-child", ".out");
        Path err = Files.createTempFile("vmm4j-jail-child", ".err");
        try {
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.add("--enable-native-access=ALL-UNNAMED");
            // The jailed JVM cannot unlink its hsperfdata file at exit: no such file then.
            command.add("-XX:-UsePerfData");
            command.add("-Xmx256m");
            command.addAll(jvmOptions);
            command.add("-cp");
            command.add(System.getProperty("java.class.path"));
            command.add(main.getName());
            command.addAll(List.of(args));
            Process process = new ProcessBuilder(command)
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            if (!process.waitFor(90, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
                fail("the child JVM did not finish in 90 s:\n" + Files.readString(out) + "\n" + Files.readString(err));
            }
            return new ChildJvm(process.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** {@return the {@code key value} pairs of the lines that start with {@code prefix + " "}} */
    Map<String, String> values(String prefix) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String line : stdout.lines().toList()) {
            if (line.startsWith(prefix + " ")) {
                String rest = line.substring(prefix.length() + 1);
                int space = rest.lastIndexOf(' ');
                values.put(rest.substring(0, space), rest.substring(space + 1));
            }
        }
        return values;
    }

    /** {@return everything the child printed, for failure messages} */
    String transcript() {
        return "exit " + exitCode + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
    }
}
