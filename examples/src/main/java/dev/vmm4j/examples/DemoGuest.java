// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples;

import dev.vmm4j.guests.Guests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** The guest simple-vmm boots when it is given no kernel, written to a private temporary file for the loader. */
final class DemoGuest {
    private DemoGuest() {}

    /** {@return a new file holding the demo guest's ELF image; the caller deletes it} */
    static Path extract() throws IOException {
        Path file = Files.createTempFile(
                "vmm4j-demo-",
                ".elf",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(file, Guests.DEMO.elf());
        return file;
    }
}
