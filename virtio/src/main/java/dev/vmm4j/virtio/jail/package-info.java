// SPDX-License-Identifier: Apache-2.0
/**
 * virtio devices in jailed processes of their own: the {@link dev.vmm4j.virtio.jail.DeviceRecipe} a device is made
 * from there, the {@link dev.vmm4j.virtio.jail.JailedDeviceFactory} that makes it, the factories of vmm4j's own
 * devices, the device process's main class ({@link dev.vmm4j.virtio.jail.VirtioDeviceHost}), and the VMM's side of a
 * jailed device ({@link dev.vmm4j.virtio.jail.JailedAttachment}). {@code VirtualMachineBuilder.sandbox(..)} turns it
 * on; {@code VirtioMmio.JailableFactory} lets a device of your own run so.
 */
package dev.vmm4j.virtio.jail;
