// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio;

/** The device status field's bits (virtio 1.2, section 2.1). */
public final class DeviceStatus {
    /** The guest OS has found the device and recognized it as a virtio device. */
    public static final int ACKNOWLEDGE = 1;
    /** The guest OS knows how to drive the device. */
    public static final int DRIVER = 2;
    /** The driver is set up and ready to drive the device. */
    public static final int DRIVER_OK = 4;
    /** The driver has acknowledged the features it understands; feature negotiation is complete. */
    public static final int FEATURES_OK = 8;
    /** The device has hit an error it cannot recover from, and needs a reset. */
    public static final int DEVICE_NEEDS_RESET = 64;
    /** Something went wrong in the guest, and it has given up on the device. */
    public static final int FAILED = 128;

    private DeviceStatus() {}
}
