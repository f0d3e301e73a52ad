// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vmm4j.virtio.devices.DiskOption;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VmBuildException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The builder's checks of disk images, made before KVM is touched (the virtio module is on the class path here). */
class DiskBuilderTest {
    @TempDir
    Path dir;

    @Test
    void missingDirectoryAndUnwritableImagesAreReportedTogether() throws Exception {
        Path kernel = Files.write(dir.resolve("vmlinux"), new byte[] {1});
        Path readOnly = Files.write(dir.resolve("ro.img"), new byte[512]);
        Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r--r--r--"));
        VmBuildException e = assertThrows(
                VmBuildException.class,
                () -> VirtualMachine.builder()
                        .kernel(kernel)
                        .device(VirtioDevices.disk(dir.resolve("missing.img")))
                        .device(VirtioDevices.disk(dir))
                        .device(VirtioDevices.disk(readOnly))
                        .device(VirtioDevices.disk(readOnly, DiskOption.READ_ONLY))
                        .build());
        String expected =
                "cannot build the VM: disk image " + dir.resolve("missing.img") + " is not a regular file (image files"
                        + " only; block devices are not supported yet); disk image " + dir
                        + " is not a regular file (image files only;"
                        + " block devices are not supported yet)";
        if (!Files.isWritable(readOnly)) { // root may write anything: then only the first two are problems
            expected += "; disk image " + readOnly + " is not readable and writable by this user (add it read-only with"
                    + " DiskOption.READ_ONLY)";
        }
        assertEquals(expected, e.getMessage());
    }
}
