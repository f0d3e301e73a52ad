// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.jail;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.EACCES;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.ENOENT;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.EPERM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.guests.Guests;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.devices.DeviceContext;
import dev.vmm4j.vmm.jail.BusProxy;
import dev.vmm4j.vmm.jail.DeviceProcessException;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A device that tries to break out of its jail, from inside its device process, with the guest kit's virtio guest
 * driving it as an entropy device: every attempt fails as the policy says, and the VM goes on; a device process that
 * crashes ends the VM with a failure that names the device.
 */
@RequiresKvm
class DeviceEscapeVmTest {
    @TempDir
    Path dir;

    private VirtioMmio escapingDevice() {
        return escapingDevice(EscapeAttempts.recipe(ProcessHandle.current().pid()));
    }

    private VirtioMmio escapingDevice(DeviceRecipe recipe) {
        return VirtioMmio.of("escape attempts", new VirtioMmio.JailableFactory() {
            @Override
            public Optional<DeviceRecipe> recipe(DeviceContext context) {
                return Optional.of(recipe);
            }

            @Override
            public VirtioDevice create(DeviceContext context) {
                throw new UnsupportedOperationException("this device runs only in a device process");
            }
        });
    }

    private VirtualMachineBuilder builder(Guests guest, ByteArrayOutputStream console) throws Exception {
        return VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(64))
                .kernel(Files.write(dir.resolve(guest.name() + ".elf"), guest.elf()))
                .serial(console)
                .sandbox(DeviceSandbox.bubblewrap());
    }

    @Test
    void everyEscapeFailsAsThePolicySaysAndTheVmGoesOn() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VirtioMmio device = escapingDevice();
        try (VirtualMachine vm = builder(Guests.VIRTIO, console).device(device).build()) {
            assertInstanceOf(ExitStatus.GuestReset.class, vm.run(), console.toString());
            assertTrue(console.toString().contains("virtio: rng " + "5a".repeat(16)), console.toString());
            BusProxy proxy = device.jailed().orElseThrow().proxy();

            Map<String, Long> refused = new TreeMap<>();
            Map<String, Integer> attempts = Map.ofEntries(
                    Map.entry("open /etc/passwd", EscapeAttempts.OPEN_PASSWD),
                    Map.entry("open /dev/kvm", EscapeAttempts.OPEN_DEV_KVM),
                    Map.entry("socket(AF_INET)", EscapeAttempts.SOCKET_INET),
                    Map.entry("socket(AF_UNIX)", EscapeAttempts.SOCKET_UNIX),
                    Map.entry("execve /bin/true", EscapeAttempts.EXECVE),
                    Map.entry("ptrace the VMM", EscapeAttempts.PTRACE_VMM),
                    Map.entry("mount", EscapeAttempts.MOUNT),
                    Map.entry("KVM ioctl on fds 0-255", EscapeAttempts.KVM_IOCTL_ON_ANY_FD),
                    Map.entry("kexec_load", EscapeAttempts.KEXEC_LOAD),
                    Map.entry("bpf", EscapeAttempts.BPF),
                    Map.entry("perf_event_open", EscapeAttempts.PERF_EVENT_OPEN),
                    Map.entry("userfaultfd", EscapeAttempts.USERFAULTFD),
                    Map.entry("fork", EscapeAttempts.FORK),
                    Map.entry("signal the VMM", EscapeAttempts.SIGNAL_VMM));
            attempts.forEach((what, selector) -> refused.put(what, proxy.control(selector, 0)));
            Map<String, Long> allEperm = new TreeMap<>();
            attempts.keySet().forEach(what -> allEperm.put(what, (long) -EPERM()));
            assertEquals(allEperm, refused, "each attempt's result (-errno)");

            assertEquals(-1, proxy.control(EscapeAttempts.WRITE_PAST_GUEST_MEMORY, 0), "refused by GuestMemory");
            assertEquals(0, proxy.control(EscapeAttempts.KVM_FDS_AT_START, 0), "no KVM fd reached the child");
            assertEquals(0, proxy.control(EscapeAttempts.STRAY_FDS_AT_START, 0), "no fd the child should not have");
            assertTrue(proxy.control(EscapeAttempts.FDS_AT_START, 0) >= 5, "the listing saw the child's fds");
            assertTrue(device.jailed().orElseThrow().process().isAlive(), "the device process goes on");
        }
    }

    @Test
    void theVsockPolicyMakesNoSocketOfItsOwn() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VirtioMmio device =
                escapingDevice(EscapeAttempts.recipe(ProcessHandle.current().pid(), "vsock", null));
        try (VirtualMachine vm = builder(Guests.VIRTIO, console).device(device).build()) {
            assertInstanceOf(ExitStatus.GuestReset.class, vm.run(), console.toString());
            BusProxy proxy = device.jailed().orElseThrow().proxy();
            assertEquals(-EPERM(), proxy.control(EscapeAttempts.CONNECT_UNIX_SOCKET, 0), "the VMM makes its sockets");
            assertEquals(-EPERM(), proxy.control(EscapeAttempts.OPEN_PASSWD, 0));
            assertEquals(-EPERM(), proxy.control(EscapeAttempts.EXECVE, 0));
        }
    }

    @Test
    void theSharedDirectoryPolicyOpensOnlyInsideItsShare() throws Exception {
        Path share = Files.createDirectory(dir.resolve("share"));
        Files.writeString(share.resolve("inside.txt"), "shared");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VirtioMmio device =
                escapingDevice(EscapeAttempts.recipe(ProcessHandle.current().pid(), "shared-directory", share));
        try (VirtualMachine vm = builder(Guests.VIRTIO, console).device(device).build()) {
            assertInstanceOf(ExitStatus.GuestReset.class, vm.run(), console.toString());
            BusProxy proxy = device.jailed().orElseThrow().proxy();
            assertEquals(0, proxy.control(EscapeAttempts.OPEN_IN_SHARE, 0), "its policy may open inside the share");
            assertEquals(
                    -EACCES(),
                    proxy.control(EscapeAttempts.OPEN_CLASS_PATH, 0),
                    "in the jail, outside the share: Landlock refuses what seccomp allows");
            assertEquals(-ENOENT(), proxy.control(EscapeAttempts.OPEN_PASSWD, 0), "not in the jail at all");
            assertEquals(-ENOENT(), proxy.control(EscapeAttempts.OPEN_DEV_KVM, 0), "bwrap's /dev has no kvm");
            assertEquals(-EPERM(), proxy.control(EscapeAttempts.SOCKET_UNIX, 0));
        }
    }

    @Test
    void aDeviceProcessThatStopsAnsweringEndsTheVmAfterTheRequestTimeout() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VirtioMmio device = escapingDevice();
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(64))
                .kernel(Files.write(dir.resolve("spin.elf"), Guests.SPIN.elf()))
                .serial(console)
                .sandbox(DeviceSandbox.builder()
                        .requestTimeout(Duration.ofMillis(500))
                        .build())
                .device(device)
                .build()) {
            vm.start();
            BusProxy proxy = device.jailed().orElseThrow().proxy();
            DeviceProcessException hung =
                    assertThrows(DeviceProcessException.class, () -> proxy.control(EscapeAttempts.HANG, 0));
            assertTrue(hung.getMessage().contains("virtio-rng-0"), hung.getMessage());
            ExitStatus status = vm.awaitExit(Duration.ofSeconds(30)).orElseThrow();
            ExitStatus.Failure failure = assertInstanceOf(ExitStatus.Failure.class, status);
            assertTrue(
                    failure.description().contains("did not answer operation 20 within 500 ms"), failure.description());
            assertTrue(proxy.isBroken(), "the proxy answers nothing more");
        }
    }

    @Test
    void aDeviceProcessThatCrashesEndsTheVmNamingTheDevice() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VirtioMmio device = escapingDevice();
        try (VirtualMachine vm = builder(Guests.SPIN, console).device(device).build()) {
            vm.start();
            BusProxy proxy = device.jailed().orElseThrow().proxy();
            assertThrows(DeviceProcessException.class, () -> proxy.control(EscapeAttempts.CRASH, 0));
            ExitStatus status = vm.awaitExit(Duration.ofSeconds(30)).orElseThrow();
            ExitStatus.Failure failure = assertInstanceOf(ExitStatus.Failure.class, status);
            assertTrue(failure.description().contains("virtio-rng-0"), failure.description());
        }
    }
}
