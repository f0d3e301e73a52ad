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

/**
 * {@code simple-vmm balloon SIZE SOCKET...}. (crosvm's 2018 balloon command sent a message of the wrong size, which
 * the VM dropped; this one's request is checked end to end by SimpleVmmIT.)
 */
@Command(
        name = "balloon",
        mixinStandardHelpOptions = true,
        description =
                "Sets the balloon target of the VMs listening on the control sockets: how much memory their guests give back.")
final class BalloonCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(
            index = "0",
            paramLabel = "SIZE",
            description = "Bytes, or a number with K, M or G (1024-based); 0 empties the balloon.")
    String size;

    @Parameters(
            index = "1..*",
            arity = "1..*",
            paramLabel = "SOCKET",
            description = "Control sockets of running VMs (run --socket).")
    List<Path> sockets;

    @Override
    public Integer call() {
        long bytes;
        try {
            bytes = ByteSize.parse(size);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        return ControlCommand.sendToAll(
                new ControlProtocol.BalloonAdjust(bytes),
                sockets,
                false,
                spec.commandLine().getOut(),
                spec.commandLine().getErr());
    }
}
