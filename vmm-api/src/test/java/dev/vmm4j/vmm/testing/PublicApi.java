// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.testing;

import com.google.common.testing.NullPointerTester;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A module's public API, as its compiled {@code module-info} exports it, and the check every module runs over it:
 * Guava's {@link NullPointerTester} calls each public constructor and static method with a null for each reference
 * parameter in turn, and fails unless it throws {@link NullPointerException} (or {@link UnsupportedOperationException}).
 */
public final class PublicApi {
    private PublicApi() {}

    /** {@return the public classes (nested ones too) of the packages {@code classes}'s module-info exports to all} */
    public static List<Class<?>> classes(Path classes) {
        Set<String> exported;
        try (InputStream in = Files.newInputStream(classes.resolve("module-info.class"))) {
            exported = ModuleDescriptor.read(in).exports().stream()
                    .filter(export -> !export.isQualified())
                    .map(ModuleDescriptor.Exports::source)
                    .collect(Collectors.toSet());
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + classes + "/module-info.class", e);
        }
        List<Class<?>> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String name =
                        classes.relativize(file).toString().replace('/', '.').replaceAll("\\.class$", "");
                int dot = name.lastIndexOf('.');
                if (dot < 0
                        || !exported.contains(name.substring(0, dot))
                        || name.endsWith("module-info")
                        || name.endsWith("package-info")) {
                    continue;
                }
                Class<?> type = Class.forName(name, false, PublicApi.class.getClassLoader());
                if (isPublicApi(type)) {
                    found.add(type);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
        return found;
    }

    private static boolean isPublicApi(Class<?> type) {
        for (Class<?> c = type; c != null; c = c.getEnclosingClass()) {
            if (!Modifier.isPublic(c.getModifiers()) || c.isAnonymousClass() || c.isSynthetic()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Runs {@code tester} over every public constructor and static method of {@code classes} but those of {@code skip}
     * (generated code). {@return the classes checked}
     */
    public static List<Class<?>> checkNulls(NullPointerTester tester, List<Class<?>> classes, Set<String> skip) {
        List<Class<?>> checked = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        for (Class<?> type : classes) {
            if (skip.stream().anyMatch(prefix -> type.getName().startsWith(prefix))) {
                continue;
            }
            try {
                tester.testAllPublicStaticMethods(type);
                tester.testAllPublicConstructors(type);
            } catch (AssertionError e) {
                failures.add(e.getMessage());
            }
            checked.add(type);
        }
        if (!failures.isEmpty()) {
            throw new AssertionError(failures.size() + " classes take null without a NullPointerException:\n"
                    + String.join("\n", failures));
        }
        return checked;
    }
}
