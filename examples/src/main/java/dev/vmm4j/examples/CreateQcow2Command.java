// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples;

import dev.vmm4j.examples.cli.Command;
import dev.vmm4j.examples.cli.Option;
import dev.vmm4j.examples.cli.Parameter;
import dev.vmm4j.examples.cli.UsageException;
import dev.vmm4j.examples.cli.Values;
import dev.vmm4j.virtio.block.DiskImage;
import dev.vmm4j.virtio.block.DiskImages;
import dev.vmm4j.virtio.block.Qcow2Image;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/** {@code simple-vmm create-qcow2 PATH SIZE}: crosvm's {@code create_qcow2}, with an optional backing file. */
final class CreateQcow2Command implements Command {
    Path path;
    /** The size given, or null to take the backing file's. */
    Long sizeBytes;

    Path backing;

    @Override
    public String name() {
        return "create-qcow2";
    }

    @Override
    public List<String> description() {
        return List.of("Creates a qcow2 image (version 3, 64 KiB clusters) that qemu-img and simple-vmm both read.");
    }

    @Override
    public List<Option> options() {
        return List.of(Option.value(
                "-b, --backing",
                "FILE",
                "A backing file (raw or qcow2, by its magic), read for what the new image does not hold; a relative"
                        + " path is relative to PATH's directory.",
                file -> backing = Values.toPath(file)));
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.required(
                        "PATH", "The image to create; it must not exist.", image -> path = Values.toPath(image)),
                Parameter.optional(
                        "SIZE",
                        "Its size: bytes, or a number with K, M or G (1024-based); default: the backing file's.",
                        size -> sizeBytes = ByteSize.parse(size)));
    }

    @Override
    public int call(PrintStream out, PrintStream err) throws Exception {
        Long bytes = sizeBytes;
        String format = null;
        if (backing != null) {
            Path resolved = path.toAbsolutePath().getParent().resolve(backing);
            try (DiskImage base = DiskImages.open(resolved, true)) {
                format = base instanceof Qcow2Image ? "qcow2" : "raw";
                if (bytes == null) {
                    bytes = base.sizeBytes();
                }
            }
        }
        if (bytes == null) {
            throw new UsageException("give a SIZE (or a --backing file to take it from)");
        }
        Qcow2Image.create(path, bytes, backing, format);
        out.println(path + ": qcow2, " + bytes + " bytes"
                + (backing == null ? "" : ", over " + backing + " (" + format + ")"));
        return 0;
    }
}
