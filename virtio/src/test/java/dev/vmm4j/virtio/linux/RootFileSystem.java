// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.linux;

import dev.vmm4j.vmm.testing.ExternalCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * ext4 root file systems for Linux guests, made and read by e2fsprogs, the real peer: {@code mkfs.ext4 -d} makes one
 * from a directory (an {@code /sbin/init} and the mount points), {@code dumpe2fs} reads what the kernel wrote into its
 * superblock, {@code e2fsck -fn} checks it without changing it.
 */
final class RootFileSystem {
    private static final Duration TOOL_TIMEOUT = Duration.ofMinutes(2);

    private RootFileSystem() {}

    /** {@return a new raw ext4 image of {@code megabytes} at {@code image} whose /sbin/init is {@code init}} */
    static Path create(Path image, byte[] init, int megabytes) throws IOException {
        Path tree = Files.createTempDirectory(image.getParent(), "rootfs-");
        for (String directory : List.of("sbin", "dev", "proc", "sys", "tmp")) {
            Files.createDirectories(tree.resolve(directory));
        }
        Path initFile = Files.write(tree.resolve("sbin/init"), init);
        Files.setPosixFilePermissions(initFile, PosixFilePermissions.fromString("rwxr-xr-x"));
        return ext4(image, tree, megabytes, "-L", "vmm4j-root");
    }

    /** {@return a new raw ext4 image of {@code megabytes} at {@code image} holding {@code tree}'s files} */
    static Path ext4(Path image, Path tree, int megabytes, String... options) throws IOException {
        List<String> args = new ArrayList<>(List.of("-q", "-F"));
        args.addAll(List.of(options));
        args.addAll(List.of("-d", tree.toString(), image.toString(), megabytes + "M"));
        run("mkfs.ext4", args.toArray(String[]::new)).expect(0);
        return image;
    }

    /** {@return the superblock's fields, as {@code dumpe2fs -h} names them ("Mount count", "Last mount time", ...)} */
    static Map<String, String> superblock(Path image) throws IOException {
        Map<String, String> fields = new HashMap<>();
        for (String line :
                run("dumpe2fs", "-h", image.toString()).expect(0).out().split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                fields.put(
                        line.substring(0, colon).strip(),
                        line.substring(colon + 1).strip());
            }
        }
        return fields;
    }

    /** {@return e2fsck's verdict on a forced read-only check: status 0 means clean} */
    static ExternalCommand.Result check(Path image) throws IOException {
        return run("e2fsck", "-fn", image.toString());
    }

    /** {@return {@code tool} where PATH has it, else in /sbin or /usr/sbin (where e2fsprogs puts its tools)} */
    private static String locate(String tool) {
        for (String directory : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!directory.isEmpty() && Files.isExecutable(Path.of(directory, tool))) {
                return Path.of(directory, tool).toString();
            }
        }
        for (String directory : List.of("/sbin", "/usr/sbin")) {
            if (Files.isExecutable(Path.of(directory, tool))) {
                return Path.of(directory, tool).toString();
            }
        }
        return tool; // let the start fail with its own message
    }

    /** {@return what qemu-img (qemu-utils) says and does} */
    static ExternalCommand.Result qemuImg(String... args) throws IOException {
        return run("qemu-img", args);
    }

    private static ExternalCommand.Result run(String tool, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(locate(tool)));
        command.addAll(List.of(args));
        return ExternalCommand.run(TOOL_TIMEOUT, command);
    }
}
