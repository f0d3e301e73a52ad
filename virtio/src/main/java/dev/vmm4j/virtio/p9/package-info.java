// SPDX-License-Identifier: Apache-2.0
/**
 * Shared directories: {@link dev.vmm4j.virtio.p9.P9Server}, a 9P2000.L file server confined to one host directory by
 * the kernel ({@code openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)} from {@code O_PATH} fds), independent of any
 * transport, and {@link dev.vmm4j.virtio.p9.P9Device}, the virtio-9p device that serves it to a guest (add one with
 * {@code VirtioDevices.sharedDirectory(..)}). {@link dev.vmm4j.virtio.p9.P9Messages} holds the wire constants.
 */
package dev.vmm4j.virtio.p9;
