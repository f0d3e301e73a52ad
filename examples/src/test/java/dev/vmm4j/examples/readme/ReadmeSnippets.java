// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.readme;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vmm4j.virtio.ActivationException;
import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.virtio.QueueHandler;
import dev.vmm4j.virtio.ServedQueues;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.devices.DiskOption;
import dev.vmm4j.virtio.devices.VirtioBalloon;
import dev.vmm4j.virtio.devices.VirtioDevices;
import dev.vmm4j.virtio.mmio.VirtioMmio;
import dev.vmm4j.virtio.net.MacAddress;
import dev.vmm4j.virtio.net.NetConfig;
import dev.vmm4j.virtio.net.Tap;
import dev.vmm4j.virtio.testing.DeviceHarness;
import dev.vmm4j.virtio.testing.DriverQueue;
import dev.vmm4j.virtio.vsock.VsockChannel;
import dev.vmm4j.virtio.vsock.VsockConfig;
import dev.vmm4j.virtio.vsock.VsockHost;
import dev.vmm4j.virtio.vsock.VsockListener;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.MemorySlotFlag;
import dev.vmm4j.vmm.kvm.Vcpu;
import dev.vmm4j.vmm.kvm.VcpuExit;
import dev.vmm4j.vmm.kvm.Vm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;

/**
 * The code the README shows, compiled here so that it cannot drift from the API: {@link ReadmeTest} checks that each
 * block between a {@code // snippet: NAME} and a {@code // end snippet} line is, word for word, the README's block
 * marked {@code <!-- snippet: NAME -->}, and runs the ones that can run without a kernel.
 */
final class ReadmeSnippets {
    private ReadmeSnippets() {}

    static void vmInTenLines(Path vmlinux, Path initrdImage, Path rootImage) throws Exception {
        // spotless:off (the README shows this as written)
        // snippet: vm-in-ten-lines
        VirtioBalloon balloon = VirtioDevices.balloon();             // keep it to move it: balloon.setTargetBytes(..)
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(256)).vcpus(2)
                .kernel(vmlinux)                                     // ELF vmlinux or bzImage (decompressed on the host)
                .initrd(initrdImage)
                .cmdline("root=/dev/vda ro")                         // after the arch's "console=ttyS0 reboot=k panic=-1"
                .device(VirtioDevices.disk(rootImage, DiskOption.READ_ONLY)) // virtio-blk, qcow2 or raw; /dev/vda
                .device(VirtioDevices.rng())                         // virtio-rng from the host's secure random source
                .device(balloon)
                .serial(System.out)
                .build()) {                                          // the VM owns the devices from here on
            ExitStatus status = vm.run();                            // or vm.start() ... vm.stop() ... vm.awaitExit()
            System.out.println(status.description());                // "the guest reset the machine", "vcpu-0 failed: ..."
        }
        // end snippet
        // spotless:on
    }

    static void vsock(Path vmlinux) throws Exception {
        // spotless:off (the README shows this as written)
        // snippet: vsock
        VsockHost host = new VsockHost();                        // the Java program's end of the guest's sockets
        try (VsockListener fromGuest = host.listen(5000);        // the guest's connect(2, 5000) lands here
                VirtualMachine vm = VirtualMachine.builder().kernel(vmlinux)
                        .device(VirtioDevices.vsock(VsockConfig.of(3)          // the guest's CID
                                .withUnixSocket(Path.of("/run/vm3.vsock"))  // host programs: "CONNECT <port>\n", as Firecracker's
                                .withHost(host)))
                        .build()) {
            vm.start();
            try (VsockChannel channel = host.connect(1234, Duration.ofSeconds(5))) { // a guest listening on port 1234
                channel.write(ByteBuffer.wrap("hello".getBytes()));
            }
            try (VsockChannel accepted = fromGuest.accept()) {
                accepted.read(ByteBuffer.allocate(4096));
            }
            vm.stop();
        }
        // end snippet
        // spotless:on
    }

    static void sandbox(Path vmlinux, Path rootImage) throws Exception {
        // spotless:off (the README shows this as written)
        // snippet: sandbox
        try (VirtualMachine vm = VirtualMachine.builder().kernel(vmlinux)
                .sandbox(DeviceSandbox.builder()                 // each device in a jailed JVM of its own, as crosvm's
                        .requestTimeout(Duration.ofSeconds(2))   // how long a register access waits for it
                        .javaOptions("-Xmx64m")                  // for each device JVM, after vmm4j's own
                        .build())
                .device(VirtioDevices.disk(rootImage))           // opened and locked by its device process
                .device(VirtioDevices.rng())
                .build()) {
            ExitStatus status = vm.run();                        // a device process that dies ends the VM: a Failure naming it
        }
        // end snippet
        // spotless:on
    }

    // spotless:off (the README shows this as written)
    // snippet: my-device
    /** A device of your own: it fills every buffer the driver offers with 0x2a. */
    static final class MyDevice implements VirtioDevice {
        private final ServedQueues served = new ServedQueues();

        @Override public int deviceType() { return VirtioIds.RNG; }               // the guest's rng driver will use it
        @Override public long deviceFeatures() { return 0; }
        @Override public List<Integer> queueMaxSizes() { return List.of(64); }
        @Override public void readConfig(long offset, MemorySegment data) { data.fill((byte) 0); }

        @Override
        public void activate(DeviceActivation activation) throws ActivationException {
            served.serve(activation.eventLoop(), QueueHandler.forQueue(name(), activation, 0, chain -> {
                long length = Math.min(chain.writableBytes(), 4096);
                chain.writeWritable(0, MemorySegment.ofArray(new byte[(int) length]).fill((byte) 0x2a));
                return length;                                                    // the bytes written, for the used ring
            }));
        }

        @Override public void reset() { served.stop(); }
    }
    // end snippet
    // spotless:on

    static VirtualMachineBuilder myDeviceInAVm(Path vmlinux) {
        // spotless:off (the README shows this as written)
        // snippet: my-device-in-a-vm
        VirtualMachineBuilder builder = VirtualMachine.builder().kernel(vmlinux)
                .device(VirtioMmio.of(new MyDevice()));                 // a 4 KiB window, an irqfd, an ioeventfd per queue
        // end snippet
        // spotless:on
        return builder;
    }

    static void myDeviceWithoutKvm() {
        // spotless:off (the README shows this as written)
        // snippet: device-harness
        try (DeviceHarness harness = DeviceHarness.create(new MyDevice())) {
            DriverQueue queue = harness.activate().getFirst();   // the driver's handshake, over the MMIO registers
            long buffer = harness.allocate(64);
            int head = queue.addChain(DriverQueue.Buffer.writable(buffer, 64));
            harness.notifyQueue(0);
            harness.runUntilIdle();                              // the device's event loop, on the test thread
            assertEquals(new DriverQueue.UsedElement(head, 64), queue.used(0));
        }
        // end snippet
        // spotless:on
    }

    static VirtualMachineBuilder network(Path vmlinux) throws Exception {
        // spotless:off (the README shows this as written)
        // snippet: network
        Tap tap = Tap.create("vmtap%d");                         // needs CAP_NET_ADMIN; made in this thread's netns
        tap.setIpv4((Inet4Address) InetAddress.ofLiteral("10.0.2.1"), (Inet4Address) InetAddress.ofLiteral("255.255.255.0"));
        tap.up();
        VirtualMachineBuilder builder = VirtualMachine.builder().kernel(vmlinux)
                .cmdline("ip=10.0.2.15::10.0.2.1:255.255.255.0::eth0:off")      // Linux configures eth0 itself
                .device(VirtioDevices.net(NetConfig.of(tap)                     // the VM owns the tap from here
                        .withMac(MacAddress.parse("52:54:00:12:34:56"))));       // .withVhost(true): the kernel moves frames
        // end snippet
        // spotless:on
        return builder;
    }

    static void typedKvm() throws Exception {
        // spotless:off (the README shows this as written)
        // snippet: typed-kvm
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm(); Arena arena = Arena.ofShared()) {
            MemorySegment ram = arena.allocate(2 << 20, 4096);
            vm.setUserMemoryRegion(0, 0, ram, EnumSet.noneOf(MemorySlotFlag.class));
            Vcpu vcpu = vm.createVcpu(0);
            // ... load code into ram, set registers with vcpu.setSregs(..) / vcpu.setRegs(..) ...
            try (Vcpu.ThreadBinding binding = vcpu.bindToCurrentThread()) {   // lets other threads vcpu.kick() it
                while (vcpu.run() instanceof VcpuExit.IoOut out) {
                    System.out.write((int) out.value());
                }
            }
        }
        // end snippet
        // spotless:on
    }
}
