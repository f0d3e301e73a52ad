// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.guests.Guests;
import dev.vmm4j.virtio.devices.VirtioBalloon;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * JFR end to end on /dev/kvm: a recording of two VMs (the virtio test guest on a disk and an rng; the demo guest
 * following a balloon) holds their lifecycle phases, their exits by kind, every block request and the balloon's moves,
 * with the fields filled in.
 */
@RequiresKvm
class JfrRecordingVmTest {
    private static final List<String> EVENTS = List.of(
            "dev.vmm4j.VmBuild",
            "dev.vmm4j.KernelLoad",
            "dev.vmm4j.VcpuStart",
            "dev.vmm4j.VmRun",
            "dev.vmm4j.VmClose",
            "dev.vmm4j.VcpuExits",
            "dev.vmm4j.BlockRequest",
            "dev.vmm4j.BalloonChange");

    @TempDir
    Path dir;

    @Test
    void aRecordingHoldsThePhasesExitsBlockRequestsAndBalloonMoves() throws Exception {
        Path image = Files.write(dir.resolve("disk.img"), new byte[32 * 512]);
        Path virtioGuest = Files.write(dir.resolve("virtio.elf"), Guests.VIRTIO.elf());
        Path demoGuest = Files.write(dir.resolve("demo.elf"), Guests.DEMO.elf());
        Path file = dir.resolve("vm.jfr");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (Recording recording = new Recording()) {
            EVENTS.forEach(recording::enable);
            recording.start();
            try (VirtualMachine vm = VirtualMachine.builder()
                    .name("jfr-virtio")
                    .memory(VirtualMachineBuilder.MiB(64))
                    .kernel(virtioGuest)
                    .serial(console)
                    .device(VirtioDevices.disk(image))
                    .device(VirtioDevices.rng())
                    .build()) {
                assertEquals("jfr-virtio", vm.name());
                assertInstanceOf(ExitStatus.GuestReset.class, vm.run(), console.toString());
            }
            VirtioBalloon balloon = VirtioDevices.balloon();
            try (VirtualMachine vm = VirtualMachine.builder()
                    .name("jfr-balloon")
                    .memory(VirtualMachineBuilder.MiB(64))
                    .kernel(demoGuest)
                    .cmdline("demo.wait")
                    .serial(console)
                    .device(balloon)
                    .build()) {
                balloon.setTargetBytes(1 << 20);
                vm.start();
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (balloon.actualBytes() != 1 << 20 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertEquals(1 << 20, balloon.actualBytes(), console.toString());
                vm.stop();
                assertInstanceOf(ExitStatus.HostStop.class, vm.awaitExit());
            }
            recording.stop();
            recording.dump(file);
        }
        List<RecordedEvent> all = RecordingFile.readAllEvents(file);

        for (String vm : List.of("jfr-virtio", "jfr-balloon")) {
            RecordedEvent build = only(all, "dev.vmm4j.VmBuild", vm);
            assertTrue(build.getBoolean("succeeded"));
            assertEquals(1, build.getInt("vcpus"));
            assertEquals(64L << 20, build.getLong("memoryBytes"));
            assertTrue(only(all, "dev.vmm4j.KernelLoad", vm).getString("kernel").endsWith(".elf"));
            assertEquals(0, only(all, "dev.vmm4j.VcpuStart", vm).getInt("vcpu"));
            only(all, "dev.vmm4j.VmClose", vm);
            assertTrue(!build.getDuration().isNegative() && !build.getDuration().isZero(), build.toString());
        }
        RecordedEvent run = only(all, "dev.vmm4j.VmRun", "jfr-virtio");
        assertEquals(new ExitStatus.GuestReset().description(), run.getString("exitStatus"));
        assertTrue(run.getBoolean("clean"));
        assertEquals(
                new ExitStatus.HostStop().description(),
                only(all, "dev.vmm4j.VmRun", "jfr-balloon").getString("exitStatus"));

        List<RecordedEvent> exits = of(all, "dev.vmm4j.VcpuExits", "jfr-virtio");
        assertFalse(exits.isEmpty(), "the last report comes when the vCPU's thread ends");
        long total = sum(exits, "total");
        long kinds = 0;
        for (String kind : List.of(
                "ioIn", "ioOut", "mmioRead", "mmioWrite", "hlt", "intr", "shutdown", "internalError", "other")) {
            kinds += sum(exits, kind);
        }
        assertEquals(total, kinds, "the kinds add up to the total");
        assertTrue(sum(exits, "ioOut") > 0, "the guest writes its console through port 0x3f8");
        assertTrue(sum(exits, "mmioRead") > 0 && sum(exits, "mmioWrite") > 0, "virtio-mmio registers: " + exits);

        List<RecordedEvent> requests = all.stream()
                .filter(e -> e.getEventType().getName().equals("dev.vmm4j.BlockRequest"))
                .filter(e -> "disk.img".equals(e.getString("device")))
                .toList();
        Set<String> operations =
                requests.stream().map(e -> e.getString("operation")).collect(Collectors.toSet());
        assertTrue(operations.containsAll(Set.of("read", "write", "flush", "get-id")), operations.toString());
        RecordedEvent read = requests.stream()
                .filter(e -> e.getString("operation").equals("read")
                        && e.getString("status").equals("ok"))
                .findFirst()
                .orElseThrow();
        assertTrue(read.getLong("bytes") > 0 && read.getLong("bytes") % 512 == 0, read.toString());
        assertTrue(read.getDuration().toNanos() > 0, read.toString());
        assertTrue(
                requests.stream().anyMatch(e -> e.getString("status").equals("ioerr")),
                "the guest's read past the end fails: " + requests);
        assertTrue(
                requests.stream()
                        .filter(e -> e.getString("operation").equals("write"))
                        .allMatch(e -> e.getLong("bytes") == 1024 && e.getLong("sector") == 0),
                "the guest inverts sectors 0-1: " + requests);

        List<RecordedEvent> balloonChanges = all.stream()
                .filter(e -> e.getEventType().getName().equals("dev.vmm4j.BalloonChange"))
                .toList();
        assertTrue(
                balloonChanges.stream()
                        .anyMatch(e -> e.getString("changed").equals("target") && e.getLong("targetBytes") == 1 << 20),
                balloonChanges.toString());
        assertTrue(
                balloonChanges.stream()
                        .anyMatch(e -> e.getString("changed").equals("actual") && e.getLong("actualBytes") == 1 << 20),
                balloonChanges.toString());
    }

    private static List<RecordedEvent> of(List<RecordedEvent> events, String name, String vm) {
        return events.stream()
                .filter(e -> e.getEventType().getName().equals(name))
                .filter(e -> vm.equals(e.getString("vm")))
                .toList();
    }

    private static RecordedEvent only(List<RecordedEvent> events, String name, String vm) {
        List<RecordedEvent> found = of(events, name, vm);
        assertEquals(1, found.size(), name + " of " + vm + ": " + found);
        return found.getFirst();
    }

    private static long sum(List<RecordedEvent> events, String field) {
        return events.stream().mapToLong(e -> e.getLong(field)).sum();
    }
}
