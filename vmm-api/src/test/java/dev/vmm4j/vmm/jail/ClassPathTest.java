// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.api.parallel.Resources;

/**
 * {@link ClassPath} reads only this JVM's {@code java.class.path} and {@code jdk.module.path}: the first tests look at
 * the real ones, the others set them for the length of one call (and put them back) to feed it jars of their own.
 */
@ResourceLock(Resources.SYSTEM_PROPERTIES)
class ClassPathTest {
    @TempDir
    Path dir;

    @Test
    void everyEntryIsAbsoluteExistingAndListedOnce() {
        List<Path> entries = ClassPath.ofThisJvm();

        assertTrue(!entries.isEmpty());
        for (Path entry : entries) {
            assertTrue(entry.isAbsolute(), entry.toString());
            assertEquals(entry.normalize(), entry);
            assertTrue(Files.exists(entry), entry.toString());
        }
        assertEquals(entries.size(), new HashSet<>(entries).size(), "no repeats: " + entries);
    }

    @Test
    void itHoldsThisJvmsClassPathAndVmm4jsOwnClasses() throws URISyntaxException {
        List<Path> entries = ClassPath.ofThisJvm();

        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path path = Path.of(entry).toAbsolutePath().normalize();
            if (!entry.isEmpty() && Files.exists(path)) {
                assertTrue(entries.contains(path), path + " of java.class.path is missing from " + entries);
            }
        }
        // Under surefire's booter jar these come from its manifest, which names the real class path.
        Path mainClasses = Path.of(ClassPath.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI());
        Path testClasses = Path.of(ClassPathTest.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI());
        assertTrue(entries.contains(mainClasses.normalize()), mainClasses + " is missing from " + entries);
        assertTrue(entries.contains(testClasses.normalize()), testClasses + " is missing from " + entries);
    }

    /** {@return {@code ClassPath.ofThisJvm()} with the class path and module path set to these} */
    private static List<Path> ofThisJvmWith(String classPath, String modulePath) {
        String savedClassPath = System.getProperty("java.class.path");
        String savedModulePath = System.getProperty("jdk.module.path");
        try {
            System.setProperty("java.class.path", classPath);
            if (modulePath == null) {
                System.clearProperty("jdk.module.path");
            } else {
                System.setProperty("jdk.module.path", modulePath);
            }
            return ClassPath.ofThisJvm();
        } finally {
            System.setProperty("java.class.path", savedClassPath);
            if (savedModulePath == null) {
                System.clearProperty("jdk.module.path");
            } else {
                System.setProperty("jdk.module.path", savedModulePath);
            }
        }
    }

    /** Writes a jar at {@code path} whose manifest's {@code Class-Path} is {@code classPath} (none if null). */
    private static Path jar(Path path, String classPath) throws IOException {
        Files.createDirectories(path.getParent());
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        if (classPath != null) {
            manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, classPath);
        }
        try (OutputStream out = Files.newOutputStream(path);
                JarOutputStream jar = new JarOutputStream(out, manifest)) {
            jar.flush();
        }
        return path;
    }

    @Test
    void aJarsManifestClassPathIsFollowedRelativeToTheJarAndAsAbsoluteFileUrls() throws IOException {
        Path library = jar(dir.resolve("lib/library.jar"), null);
        Path elsewhere = jar(dir.resolve("elsewhere/absolute.jar"), null);
        Path classes = Files.createDirectories(dir.resolve("classes"));
        Path booter = jar(dir.resolve("booter.jar"), "lib/library.jar " + elsewhere.toUri() + " missing.jar classes/");

        List<Path> entries = ofThisJvmWith(booter.toString(), null);

        assertEquals(List.of(booter, library, elsewhere, classes), entries, "in order, without the missing jar");
    }

    @Test
    void aManifestReferenceIsAUrlSoItsEscapesAreDecoded() throws IOException {
        Path spaced = jar(dir.resolve("with space/library.jar"), null);
        Path booter = jar(dir.resolve("booter.jar"), "with%20space/library.jar");

        assertEquals(List.of(booter, spaced), ofThisJvmWith(booter.toString(), null));
    }

    @Test
    void manifestsAreFollowedTransitivelyAndACycleEnds() throws IOException {
        Path first = dir.resolve("first.jar");
        Path second = jar(dir.resolve("second.jar"), "first.jar third.jar");
        Path third = jar(dir.resolve("third.jar"), "second.jar");
        jar(first, "second.jar");

        assertEquals(List.of(first, second, third), ofThisJvmWith(first.toString(), null));
    }

    @Test
    void relativeEntriesBecomeAbsoluteAndMissingOnesAreLeftOut() throws IOException {
        Path here = Path.of("").toAbsolutePath();
        Path jar = jar(
                Files.createTempDirectory(here.resolve("target"), "classpath-test")
                        .resolve("a.jar"),
                null);
        try {
            String relative = here.relativize(jar).toString();

            List<Path> entries = ofThisJvmWith(
                    String.join(
                            File.pathSeparator,
                            "",
                            relative,
                            dir.resolve("gone.jar").toString(),
                            relative),
                    null);

            assertEquals(List.of(jar), entries);
        } finally {
            Files.delete(jar);
            Files.delete(jar.getParent());
        }
    }

    @Test
    void theModulePathComesFirstAndAJarThatIsNoJarIsKeptAsItIs() throws IOException {
        Path module = jar(dir.resolve("mods/module.jar"), null);
        Path broken = Files.writeString(dir.resolve("broken.jar"), "not a zip file");
        Path classes = Files.createDirectories(dir.resolve("classes"));

        List<Path> entries = ofThisJvmWith(broken + File.pathSeparator + classes, module.toString());

        assertEquals(List.of(module, broken, classes), entries);
    }
}
