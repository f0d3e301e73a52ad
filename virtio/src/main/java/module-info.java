// SPDX-License-Identifier: Apache-2.0
/**
 * virtio devices for vmm4j VMs: the {@link dev.vmm4j.virtio.VirtioDevice} SPI, split virtqueues
 * ({@link dev.vmm4j.virtio.queue}), the virtio-mmio transport ({@link dev.vmm4j.virtio.mmio}), the block, rng, balloon and
 * network (tap, vhost-net) devices (with crosvm's low-memory balloon policy), {@link dev.vmm4j.virtio.devices.VirtioDevices} to add them to a VM, and a driver harness to test devices without KVM ({@link dev.vmm4j.virtio.testing}).
 */
module dev.vmm4j.virtio {
    requires transitive dev.vmm4j.vmm;
    requires jdk.jfr;

    exports dev.vmm4j.virtio;
    exports dev.vmm4j.virtio.queue;
    exports dev.vmm4j.virtio.mmio;
    exports dev.vmm4j.virtio.block;
    exports dev.vmm4j.virtio.rng;
    exports dev.vmm4j.virtio.net;
    exports dev.vmm4j.virtio.vhost;
    exports dev.vmm4j.virtio.balloon;
    exports dev.vmm4j.virtio.testing;
    exports dev.vmm4j.virtio.devices;
    exports dev.vmm4j.virtio.p9;
    exports dev.vmm4j.virtio.vsock;
    exports dev.vmm4j.virtio.jail;
}
