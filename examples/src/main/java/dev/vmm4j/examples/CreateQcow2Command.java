// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples;

import dev.vmm4j.virtio.block.DiskImage;
import dev.vmm4j.virtio.block.DiskImages;
import dev.vmm4j.virtio.block.Qcow2Image;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code simple-vmm create-qcow2 PATH SIZE}: crosvm's {@code create_qcow2}, with an optional backing file. */
@Command(
        name = "create-qcow2",
        mixinStandardHelpOptions = true,
        description = "Creates a qcow2 image (version 3, 64 KiB clusters) that qemu-img and simple-vmm both read.")
final class CreateQcow2Command implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PATH", description = "The image to create; it must not exist.")
    Path path;

    @Parameters(
            index = "1",
            arity = "0..1",
            paramLabel = "SIZE",
            description = "Its size: bytes, or a number with K, M or G (1024-based); default: the backing file's.")
    String size;

    @Option(
            names = {"-b", "--backing"},
            paramLabel = "FILE",
            description =
                    "A backing file (raw or qcow2, by its magic), read for what the new image does not hold; a relative path is relative to PATH's directory.")
    Path backing;

    @Override
    public Integer call() throws Exception {
        Long bytes = null;
        if (size != null) {
            try {
                bytes = ByteSize.parse(size);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
        }
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
            throw new ParameterException(spec.commandLine(), "give a SIZE (or a --backing file to take it from)");
        }
        Qcow2Image.create(path, bytes, backing, format);
        spec.commandLine()
                .getOut()
                .println(path + ": qcow2, " + bytes + " bytes"
                        + (backing == null ? "" : ", over " + backing + " (" + format + ")"));
        return 0;
    }
}
