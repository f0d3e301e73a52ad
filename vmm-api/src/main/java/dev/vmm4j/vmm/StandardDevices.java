package dev.vmm4j.vmm;

import java.nio.file.Path;

/**
 * The devices {@link VirtualMachineBuilder} offers by name ({@link VirtualMachineBuilder#disk},
 * {@link VirtualMachineBuilder#rng}, {@link VirtualMachineBuilder#balloon}) come from this service, which the {@code dev.vmm4j.virtio} module provides; the
 * builder finds it with {@link java.util.ServiceLoader}, so {@code vmm-api} names no device implementation.
 */
public interface StandardDevices {
    /** {@return a virtio block device over the image {@code image} (qcow2 or raw, by its magic), read-only if {@code readOnly}} */
    VmDevice disk(Path image, boolean readOnly);

    /** {@return a virtio entropy device fed from the host's secure random source} */
    VmDevice rng();

    /** {@return a virtio memory balloon, which the VM then offers as {@link VirtualMachine#balloon()}} */
    VmDevice balloon();
}
