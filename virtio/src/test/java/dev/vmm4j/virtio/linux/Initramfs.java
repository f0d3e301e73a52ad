// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.linux;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * An uncompressed initramfs: a cpio archive in the "newc" format the kernel unpacks (Documentation/driver-api/
 * early-userspace/buffer-format.rst), built in memory from directories, files and symlinks.
 */
final class Initramfs {
    private static final int DIRECTORY = 0040755;
    private static final int SYMLINK = 0120777;

    private final Map<String, Entry> entries = new LinkedHashMap<>();

    private record Entry(int mode, byte[] data) {}

    /** Adds directory {@code path} (no leading slash). */
    Initramfs directory(String path) {
        entries.put(path, new Entry(DIRECTORY, new byte[0]));
        return this;
    }

    /** Adds file {@code path} with {@code data} and permission bits {@code permissions} (such as 0755). */
    Initramfs file(String path, byte[] data, int permissions) {
        entries.put(path, new Entry(0100000 | permissions, data.clone()));
        return this;
    }

    /** Adds symbolic link {@code path} to {@code target}. */
    Initramfs symlink(String path, String target) {
        entries.put(path, new Entry(SYMLINK, target.getBytes(StandardCharsets.UTF_8)));
        return this;
    }

    /** {@return the archive} */
    byte[] toBytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int inode = 1;
        for (Map.Entry<String, Entry> entry : entries.entrySet()) {
            write(
                    out,
                    inode++,
                    entry.getKey(),
                    entry.getValue().mode(),
                    entry.getValue().data());
        }
        write(out, 0, "TRAILER!!!", 0, new byte[0]);
        return out.toByteArray();
    }

    private static void write(ByteArrayOutputStream out, int inode, String name, int mode, byte[] data) {
        byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.UTF_8);
        int links = (mode & 0170000) == DIRECTORY ? 2 : 1;
        String header = String.format(
                Locale.ROOT,
                "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
                inode,
                mode,
                0,
                0,
                links,
                0,
                data.length,
                0,
                0,
                0,
                0,
                nameBytes.length,
                0);
        out.writeBytes(header.getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(nameBytes);
        pad(out);
        out.writeBytes(data);
        pad(out);
    }

    private static void pad(ByteArrayOutputStream out) {
        while (out.size() % 4 != 0) {
            out.write(0);
        }
    }
}
