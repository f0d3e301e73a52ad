// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples;

import dev.vmm4j.examples.control.ControlProtocol;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code simple-vmm status SOCKET...}. */
@Command(
        name = "status",
        mixinStandardHelpOptions = true,
        description = "Prints the state, memory, vCPUs and balloon of the VMs listening on the control sockets.")
final class StatusCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "SOCKET", description = "Control sockets of running VMs (run --socket).")
    List<Path> sockets;

    @Override
    public Integer call() {
        return ControlCommand.sendToAll(
                new ControlProtocol.Status(),
                sockets,
                true,
                spec.commandLine().getOut(),
                spec.commandLine().getErr());
    }
}
