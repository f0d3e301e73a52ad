/**
 * virtio devices over the virtio-mmio transport: block, net, rng, balloon, vsock, 9p, console.
 *
 * <p>Its devices arrive with the virtio issue; today the module holds only its declaration.
 */
module dev.vmm4j.virtio {
    requires transitive dev.vmm4j.vmm;
}
