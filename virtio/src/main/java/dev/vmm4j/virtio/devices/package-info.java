// SPDX-License-Identifier: Apache-2.0
/**
 * vmm4j's standard virtio devices for {@code VirtualMachineBuilder.device(..)}: {@link VirtioDevices#disk},
 * {@link VirtioDevices#rng()} and {@link VirtioDevices#balloon()}, each behind virtio-mmio.
 */
package dev.vmm4j.virtio.devices;
