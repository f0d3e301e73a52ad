// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.AT_FDCWD;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.O_CLOEXEC;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.O_CREAT;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.O_RDONLY;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.O_WRONLY;

import dev.vmm4j.kvm.bindings.Errno;
import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.vmm.sys.Libc;
import java.io.File;
import java.lang.foreign.Arena;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.jar.JarFile;

/**
 * The child JVM of {@link LandlockTest}: restricts its main thread to a directory (read-write) and the JDK and class
 * path (read-only), then reports ({@code landlock <who> <what> <errno name or ok>}) what the restricted thread, a
 * thread it starts, and a thread that existed before can open.
 *
 * <p>Argument: the read-write directory.
 */
final class LandlockChild {
    private LandlockChild() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        CountDownLatch asked = new CountDownLatch(1);
        AtomicReference<String> earlierResult = new AtomicReference<>();
        Thread earlier = Thread.ofPlatform().name("started-before").start(() -> {
            try {
                asked.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            earlierResult.set(open("/etc/passwd"));
        });
        // The virtual-thread scheduler's one carrier (the parent sets parallelism 1) starts now, unrestricted.
        Thread.ofVirtual().start(() -> open("/etc/hostname")).join();
        report("main", "create-before", create(dir.resolve("made-before")));
        System.out.println("abi " + Landlock.abiVersion());

        try {
            Landlock.restrictSelf(List.of(dir.resolve("missing")), List.of());
            System.out.println("missing accepted");
        } catch (JailException e) {
            System.out.println("missing " + e.getMessage());
        }

        boolean applied = Landlock.restrictSelf(readOnlyPaths(), List.of(dir));
        System.out.println("applied " + applied);
        report("restricted", "create", create(dir.resolve("made-by-restricted")));
        report("restricted", "passwd", open("/etc/passwd"));
        report(
                "restricted",
                "jdk",
                open(Path.of(System.getProperty("java.home"), "release").toString()));

        AtomicReference<String> laterCreate = new AtomicReference<>();
        AtomicReference<String> laterPasswd = new AtomicReference<>();
        Thread later = Thread.ofPlatform().name("started-after").start(() -> {
            laterCreate.set(create(dir.resolve("made-by-started-after")));
            laterPasswd.set(open("/etc/passwd"));
        });
        later.join();
        report("started-after", "create", laterCreate.get());
        report("started-after", "passwd", laterPasswd.get());

        AtomicReference<String> virtual = new AtomicReference<>();
        Thread.ofVirtual().start(() -> virtual.set(open("/etc/passwd"))).join();
        report("virtual", "passwd", virtual.get());

        asked.countDown();
        earlier.join();
        report("started-before", "passwd", earlierResult.get());
    }

    /** The JDK and every class-path entry, including those a jar's manifest adds (surefire's booter jar does). */
    private static List<Path> readOnlyPaths() throws Exception {
        List<Path> paths = new ArrayList<>();
        paths.add(Path.of(System.getProperty("java.home")));
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path path = Path.of(entry).toAbsolutePath();
            paths.add(path);
            if (Files.isRegularFile(path) && path.toString().endsWith(".jar")) {
                try (JarFile jar = new JarFile(path.toFile())) {
                    String extra = jar.getManifest() == null
                            ? null
                            : jar.getManifest().getMainAttributes().getValue("Class-Path");
                    for (String uri :
                            extra == null ? new String[0] : extra.trim().split("\\s+")) {
                        Path resolved = Path.of(path.getParent().toUri().resolve(URI.create(uri)));
                        if (Files.exists(resolved)) {
                            paths.add(resolved);
                        }
                    }
                }
            }
        }
        return paths;
    }

    private static void report(String who, String what, String result) {
        System.out.println("landlock " + who + "-" + what + " " + result);
    }

    private static String open(String path) {
        return result(openat(path, O_RDONLY()));
    }

    private static String create(Path path) {
        return result(openat(path.toString(), O_WRONLY() | O_CREAT()));
    }

    private static long openat(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            return RawSyscall.call(
                    LinuxHeaders.SYS_openat(),
                    AT_FDCWD(),
                    arena.allocateFrom(path).address(),
                    flags | O_CLOEXEC(),
                    0600);
        }
    }

    private static String result(long fdOrError) {
        if (fdOrError < 0) {
            return Errno.name((int) -fdOrError);
        }
        Libc.close((int) fdOrError);
        return "ok";
    }
}
