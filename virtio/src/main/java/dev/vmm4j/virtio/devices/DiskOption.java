// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.devices;

/** How {@link VirtioDevices#disk(java.nio.file.Path, DiskOption...)} opens an image. */
public enum DiskOption {
    /** The guest may not write (VIRTIO_BLK_F_RO); the image is locked shared, so other readers may open it too. */
    READ_ONLY,
    /** The image must be qcow2; one that is not is refused (instead of being taken as raw). */
    QCOW2,
    /**
     * The image is raw whatever its first bytes say; without this, an image that starts with qcow2's magic is opened
     * as qcow2.
     */
    RAW
}
