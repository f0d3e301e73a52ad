// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.guests.Guests;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import jdk.jfr.FlightRecorder;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM that does not record never loads a JFR event class of vmm4j's (loading the first starts JFR's machinery, about
 * 130 ms), and one that starts recording later gets the events from then on, the periodic exit counts included. Run in
 * a child JVM of its own, as the test JVM may have started JFR already.
 */
@RequiresKvm
class JfrOffVmTest {
    private static final String RECORDING_STARTS = "--- a recording starts ---";

    @TempDir
    Path dir;

    @Test
    void noEventClassLoadsUntilARecordingStartsAndThenEventsFlow() throws Exception {
        Path output = dir.resolve("child.out");
        Process child = new ProcessBuilder(
                        ProcessHandle.current().info().command().orElse("java"),
                        "--enable-native-access=ALL-UNNAMED",
                        "-Xlog:class+load=info:stdout",
                        "-cp",
                        System.getProperty("java.class.path"),
                        Child.class.getName(),
                        dir.toString())
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), "the child JVM did not end in 2 minutes");
        List<String> lines = Files.readAllLines(output);
        assertEquals(
                0,
                child.exitValue(),
                "the child failed: "
                        + lines.stream()
                                .filter(line -> !line.contains("class,load"))
                                .toList());
        int marker = lines.indexOf(RECORDING_STARTS);
        assertTrue(marker > 0, "the child reached its recording");
        List<String> loadedBefore = new ArrayList<>();
        for (String line : lines.subList(0, marker)) {
            if (line.contains("class,load") && isJfrEvent(line)) {
                loadedBefore.add(line);
            }
        }
        assertEquals(List.of(), loadedBefore, "event classes loaded while nothing recorded");
        // VcpuExits comes from the periodic hook, which could only be registered once the recording started JFR
        assertEquals(
                List.of("events: dev.vmm4j.BlockRequest dev.vmm4j.KernelLoad dev.vmm4j.VcpuExits dev.vmm4j.VcpuStart"
                        + " dev.vmm4j.VmBuild dev.vmm4j.VmClose dev.vmm4j.VmRun"),
                lines.stream().filter(line -> line.startsWith("events: ")).toList(),
                "the event types in the recording that started after the first VM");
    }

    /** Whether the class a class-load line names is a JFR event class (jdk.jfr's own base class included). */
    private static boolean isJfrEvent(String line) {
        for (String word : line.split(" ")) {
            if (word.equals("jdk.jfr.Event")) {
                return true;
            }
            if (word.startsWith("dev.vmm4j.") && !word.contains("/")) { // hidden classes (lambdas) have a slash
                try {
                    return jdk.jfr.Event.class.isAssignableFrom(
                            Class.forName(word, false, JfrOffVmTest.class.getClassLoader()));
                } catch (ClassNotFoundException e) {
                    return false; // the child's own classes are ours too; a class only it has is no event of ours
                }
            }
        }
        return false;
    }

    /** The child: a VM with a disk and an rng, no JFR; then a recording, and the same VM again. */
    public static final class Child {
        private Child() {}

        /** {@code args[0]}: a directory for the disk, the guest and the recording. */
        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            Path image = Files.write(dir.resolve("disk.img"), new byte[32 * 512]);
            Path guest = Files.write(dir.resolve("virtio.elf"), Guests.VIRTIO.elf());
            runVm(image, guest);
            if (FlightRecorder.isInitialized()) {
                throw new AssertionError("running a VM started JFR");
            }
            System.out.println(RECORDING_STARTS);
            Path file = dir.resolve("late.jfr");
            try (Recording recording = new Recording()) {
                for (String name : List.of(
                        "dev.vmm4j.VmBuild",
                        "dev.vmm4j.KernelLoad",
                        "dev.vmm4j.VmRun",
                        "dev.vmm4j.VmClose",
                        "dev.vmm4j.VcpuExits",
                        "dev.vmm4j.BlockRequest")) {
                    recording.enable(name);
                }
                recording.start();
                runVm(image, guest);
                recording.stop();
                recording.dump(file);
            }
            List<String> names = RecordingFile.readAllEvents(file).stream()
                    .map(RecordedEvent::getEventType)
                    .map(type -> type.getName())
                    .filter(name -> name.startsWith("dev.vmm4j."))
                    .distinct()
                    .sorted()
                    .toList();
            System.out.println("events: " + String.join(" ", names));
        }

        private static void runVm(Path image, Path guest) throws Exception {
            ByteArrayOutputStream console = new ByteArrayOutputStream();
            try (VirtualMachine vm = VirtualMachine.builder()
                    .memory(VirtualMachineBuilder.MiB(64))
                    .kernel(guest)
                    .serial(console)
                    .device(VirtioDevices.disk(image))
                    .device(VirtioDevices.rng())
                    .build()) {
                if (!(vm.run() instanceof ExitStatus.GuestReset)) {
                    throw new AssertionError("the guest did not finish: " + console);
                }
            }
        }
    }
}
