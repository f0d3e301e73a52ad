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

/** {@code simple-vmm stop SOCKET...}. */
final class StopCommand implements Command {
    final List<Path> sockets = new ArrayList<>();

    @Override
    public String name() {
        return "stop";
    }

    @Override
    public List<String> description() {
        return List.of("Stops the VMs listening on the control sockets.");
    }

    @Override
    public List<Option> options() {
        return List.of();
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(ControlCommand.sockets(sockets));
    }

    @Override
    public int call(PrintStream out, PrintStream err) {
        return ControlCommand.sendToAll(new ControlProtocol.Exit(), sockets, false, out, err);
    }
}
