// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples;

import dev.vmm4j.examples.cli.Parameter;
import dev.vmm4j.examples.cli.Values;
import dev.vmm4j.examples.control.ControlClient;
import dev.vmm4j.examples.control.ControlProtocol;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Sends one control request to each of several VMs, as crosvm's {@code stop} and {@code balloon} do. */
final class ControlCommand {
    /** How long a VM has to answer. */
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private ControlCommand() {}

    /** {@return the {@code SOCKET...} parameter of stop, balloon and status, adding each to {@code sockets}} */
    static Parameter sockets(List<Path> sockets) {
        return Parameter.oneOrMore(
                "SOCKET",
                "Control sockets of running VMs (run --socket).",
                socket -> sockets.add(Values.toPath(socket)));
    }

    /**
     * Sends {@code request} to every socket; prints each failure (and, if {@code printAnswers}, each answer) with the
     * socket's path. {@return 0 if every VM said ok, else 1}
     */
    static int sendToAll(
            ControlProtocol.Request request,
            List<Path> sockets,
            boolean printAnswers,
            PrintStream out,
            PrintStream err) {
        int status = 0;
        for (Path socket : sockets) {
            try {
                String answer = ControlClient.send(socket, request, TIMEOUT);
                if (answer.equals("ok") || answer.startsWith("ok ")) {
                    if (printAnswers) {
                        out.println(socket + ": " + answer.substring(2).strip());
                    }
                } else {
                    err.println("simple-vmm: " + socket + ": "
                            + (answer.startsWith("error ") ? answer.substring(6) : answer));
                    status = 1;
                }
            } catch (IOException e) {
                err.println("simple-vmm: " + e.getMessage());
                status = 1;
            }
        }
        return status;
    }
}
