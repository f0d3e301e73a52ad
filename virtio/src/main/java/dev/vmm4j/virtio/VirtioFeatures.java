// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio;

/** Feature bits that are not device-specific (virtio 1.2, section 6), as bit numbers. */
public final class VirtioFeatures {
    /** The driver may put a table of descriptors in one descriptor (2.7.5.3). */
    public static final int VIRTIO_RING_F_INDIRECT_DESC = 28;
    /** used_event and avail_event suppress notifications (2.7.10). */
    public static final int VIRTIO_RING_F_EVENT_IDX = 29;
    /** The device follows virtio 1.x, not the legacy interface. */
    public static final int VIRTIO_F_VERSION_1 = 32;

    /** What every vmm4j transport and queue implement, offered with each device's own features. */
    public static final long TRANSPORT_FEATURES =
            (1L << VIRTIO_RING_F_INDIRECT_DESC) | (1L << VIRTIO_RING_F_EVENT_IDX) | (1L << VIRTIO_F_VERSION_1);

    private VirtioFeatures() {}
}
