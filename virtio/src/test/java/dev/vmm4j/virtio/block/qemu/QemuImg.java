// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block.qemu;

import dev.vmm4j.vmm.testing.ExternalCommand;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Runs qemu-img and qemu-io, the real peer the qcow2 tests check against. */
final class QemuImg {
    private QemuImg() {}

    static boolean available() {
        try {
            return img("--version").status() == 0 && io("--version").status() == 0;
        } catch (IOException e) {
            return false;
        }
    }

    static ExternalCommand.Result img(Object... args) throws IOException {
        return run("qemu-img", args);
    }

    static ExternalCommand.Result io(Object... args) throws IOException {
        return run("qemu-io", args);
    }

    private static ExternalCommand.Result run(String tool, Object... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(tool);
        for (Object arg : args) {
            command.add(arg instanceof Path path ? path.toString() : String.valueOf(arg));
        }
        return ExternalCommand.run(Duration.ofMinutes(2), command);
    }
}
