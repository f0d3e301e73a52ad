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
 * A control command that takes nothing but {@code SOCKET...} and sends each VM the same request: {@code stop} and
 * {@code status}.
 */
final class SocketsCommand implements Command {
    final List<Path> sockets = new ArrayList<>();
    private final String name;
    private final String description;
    private final ControlProtocol.Request request;
    private final boolean printAnswers;

    private SocketsCommand(String name, String description, ControlProtocol.Request request, boolean printAnswers) {
        this.name = name;
        this.description = description;
        this.request = request;
        this.printAnswers = printAnswers;
    }

    /** {@return {@code simple-vmm stop SOCKET...}} */
    static SocketsCommand stop() {
        return new SocketsCommand(
                "stop", "Stops the VMs listening on the control sockets.", new ControlProtocol.Exit(), false);
    }

    /** {@return {@code simple-vmm status SOCKET...}} */
    static SocketsCommand status() {
        return new SocketsCommand(
                "status",
                "Prints the state, memory, vCPUs and balloon of the VMs listening on the control sockets.",
                new ControlProtocol.Status(),
                true);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<String> description() {
        return List.of(description);
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
        return ControlCommand.sendToAll(request, sockets, printAnswers, out, err);
    }
}
