// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The smallest device process, for {@link DeviceProcessTest}: connects to the socket its one argument names, takes one
 * message with an eventfd, writes 1 to the eventfd, and answers {@code "ok <fds> <targets>"}: how many fds it has open
 * and what each one is. Then it serves until the VMM hangs up and exits 0, unless the message was {@code "die"}: then
 * it exits with status 7 at once.
 */
public final class EchoDeviceMain {
    private EchoDeviceMain() {}

    public static void main(String[] args) throws IOException {
        try (FdSocket socket = FdSocket.connect(Path.of(args[0]))) {
            FdSocket.Message message = socket.receive(Duration.ofMinutes(1)).orElseThrow();
            List<OwnedFd> fds = message.fds();
            try (EventFd event = EventFd.adopt(fds.getFirst().release(), false)) {
                event.write(1);
            }
            String answer = "ok " + openFds();
            socket.send(answer.getBytes(StandardCharsets.UTF_8), List.of());
            if (new String(message.bytes(), StandardCharsets.UTF_8).equals("die")) {
                System.exit(7);
            }
            while (socket.receive(Duration.ofMinutes(5)).isPresent()) {
                // Nothing else to serve: wait for the hang-up.
            }
        }
    }

    /** {@return the number of open fds and, after a space, what each refers to, separated by '|'} */
    private static String openFds() throws IOException {
        try (Stream<Path> listing = Files.list(Path.of("/proc/self/fd"))) {
            List<Path> fds = listing.toList();
            String targets = fds.stream()
                    .map(fd -> {
                        try {
                            return Files.readSymbolicLink(fd).toString();
                        } catch (IOException e) {
                            return "(gone)"; // the listing's own fd
                        }
                    })
                    .collect(Collectors.joining("|"));
            return fds.size() + " " + targets;
        }
    }
}
