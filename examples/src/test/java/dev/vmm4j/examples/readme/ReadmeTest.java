// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.readme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's Java examples are the compiled code of {@link ReadmeSnippets}, word for word: each block marked
 * {@code <!-- snippet: NAME -->} in the README is the snippet of that name, and every snippet appears in the README.
 */
class ReadmeTest {
    private static final Path README = Path.of("..", "README.md");
    private static final Path SNIPPETS = Path.of("src/test/java/dev/vmm4j/examples/readme/ReadmeSnippets.java");
    private static final Pattern README_BLOCK =
            Pattern.compile("<!-- snippet: ([a-z0-9-]+) -->\\n```java\\n(.*?)```\\n", Pattern.DOTALL);

    /** {@return the snippets of the source file, by name, without their common indentation} */
    static Map<String, String> snippets() throws IOException {
        Map<String, String> snippets = new LinkedHashMap<>();
        String name = null;
        List<String> lines = new ArrayList<>();
        for (String line : Files.readAllLines(SNIPPETS)) {
            String trimmed = line.strip();
            if (trimmed.startsWith("// snippet: ")) {
                name = trimmed.substring("// snippet: ".length());
                lines.clear();
            } else if (trimmed.equals("// end snippet")) {
                snippets.put(name, dedent(lines));
                name = null;
            } else if (name != null && !trimmed.startsWith("// spotless:")) {
                lines.add(line);
            }
        }
        return snippets;
    }

    private static String dedent(List<String> lines) {
        int indent = lines.stream()
                .filter(line -> !line.isBlank())
                .mapToInt(line -> line.length() - line.stripLeading().length())
                .min()
                .orElse(0);
        StringBuilder text = new StringBuilder();
        for (String line : lines) {
            text.append(line.isBlank() ? "" : line.substring(indent)).append('\n');
        }
        return text.toString();
    }

    @Test
    void everyReadmeExampleIsCompiledCode() throws IOException {
        Map<String, String> snippets = snippets();
        assertFalse(snippets.isEmpty());
        Matcher blocks = README_BLOCK.matcher(Files.readString(README));
        List<String> shown = new ArrayList<>();
        while (blocks.find()) {
            String name = blocks.group(1);
            assertTrue(
                    snippets.containsKey(name), "the README shows a snippet " + name + " that " + SNIPPETS + " lacks");
            assertEquals(
                    snippets.get(name),
                    blocks.group(2),
                    "the README's " + name + " differs from " + SNIPPETS + "; the compiled one is:\n"
                            + snippets.get(name));
            shown.add(name);
        }
        assertEquals(List.copyOf(snippets.keySet()), shown, "every snippet, once, in order");
    }

    @Test
    void theDeviceExampleWorks() {
        ReadmeSnippets.myDeviceWithoutKvm();
    }
}
