// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples;

import dev.vmm4j.examples.cli.Command;
import dev.vmm4j.examples.cli.Option;
import dev.vmm4j.examples.cli.Parameter;
import dev.vmm4j.examples.control.ControlProtocol;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code simple-vmm balloon SIZE SOCKET...}. (crosvm's 2018 balloon command sent a message of the wrong size, which
 * the VM dropped; this one's request is checked end to end by SimpleVmmIT.)
 */
final class BalloonCommand implements Command {
    long sizeBytes;
    final List<Path> sockets = new ArrayList<>();

    @Override
    public String name() {
        return "balloon";
    }

    @Override
    public List<String> description() {
        return List.of("Sets the balloon target of the VMs listening on the control sockets: how much memory their"
                + " guests give back.");
    }

    @Override
    public List<Option> options() {
        return List.of();
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.required(
                        "SIZE",
                        "Bytes, or a number with K, M or G (1024-based); 0 empties the balloon.",
                        size -> sizeBytes = ByteSize.parse(size)),
                ControlCommand.sockets(sockets));
    }

    @Override
    public int call(PrintStream out, PrintStream err) {
        return ControlCommand.sendToAll(new ControlProtocol.BalloonAdjust(sizeBytes), sockets, false, out, err);
    }
}
