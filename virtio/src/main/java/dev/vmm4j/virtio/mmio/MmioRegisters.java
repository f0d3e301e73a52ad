// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.mmio;

/**
 * The virtio-mmio register window, version 2 (virtio 1.2, section 4.2.2): 32-bit little-endian registers at these
 * offsets, then the device's configuration space from {@link #CONFIG}.
 */
public final class MmioRegisters {
    /** "virt" in little-endian ASCII. */
    public static final int MAGIC = 0x7472_6976;
    /** The non-legacy interface. */
    public static final int VERSION = 2;
    /** The size of one device's window. */
    public static final long WINDOW_SIZE = 0x1000;

    /** Offset of MagicValue (read-only): {@link #MAGIC}. */
    public static final int MAGIC_VALUE = 0x000;
    /** Offset of Version (read-only): the interface version, {@link #VERSION}. */
    public static final int VERSION_REG = 0x004;
    /** Offset of DeviceID (read-only): the device type, one of {@code VirtioIds}; 0 means no device. */
    public static final int DEVICE_ID = 0x008;
    /** Offset of VendorID (read-only): the subsystem vendor ID. */
    public static final int VENDOR_ID = 0x00c;
    /** Offset of DeviceFeatures (read-only): the 32 feature bits that DeviceFeaturesSel selects. */
    public static final int DEVICE_FEATURES = 0x010;
    /** Offset of DeviceFeaturesSel (write-only): which 32 device feature bits to show (0: bits 0-31). */
    public static final int DEVICE_FEATURES_SEL = 0x014;
    /** Offset of DriverFeatures (write-only): the feature bits the driver accepted, 32 at a time. */
    public static final int DRIVER_FEATURES = 0x020;
    /** Offset of DriverFeaturesSel (write-only): which 32 bits DriverFeatures sets (0: bits 0-31). */
    public static final int DRIVER_FEATURES_SEL = 0x024;
    /** Offset of QueueSel (write-only): the queue that the other Queue* registers refer to. */
    public static final int QUEUE_SEL = 0x030;
    /** Offset of QueueNumMax (read-only): the selected queue's largest size; 0 if it does not exist. */
    public static final int QUEUE_NUM_MAX = 0x034;
    /** Offset of QueueNum (write-only): the size the driver chose for the selected queue. */
    public static final int QUEUE_NUM = 0x038;
    /** Offset of QueueReady (read-write): 1 once the driver has set the selected queue up. */
    public static final int QUEUE_READY = 0x044;
    /** Offset of QueueNotify: the driver writes a queue's index here to notify it. */
    public static final int QUEUE_NOTIFY = 0x050;
    /** Offset of InterruptStatus (read-only): pending {@link #INT_VRING} and {@link #INT_CONFIG} bits. */
    public static final int INTERRUPT_STATUS = 0x060;
    /** Offset of InterruptACK (write-only): the driver writes the InterruptStatus bits it handled. */
    public static final int INTERRUPT_ACK = 0x064;
    /** Offset of Status (read-write): the device status bits; writing 0 resets the device. */
    public static final int STATUS = 0x070;
    /** Offset of QueueDescLow (write-only): low 32 bits of the selected queue's descriptor table address. */
    public static final int QUEUE_DESC_LOW = 0x080;
    /** Offset of QueueDescHigh (write-only): high 32 bits of the descriptor table address. */
    public static final int QUEUE_DESC_HIGH = 0x084;
    /** Offset of QueueDriverLow (write-only): low 32 bits of the selected queue's available ring address. */
    public static final int QUEUE_DRIVER_LOW = 0x090;
    /** Offset of QueueDriverHigh (write-only): high 32 bits of the available ring address. */
    public static final int QUEUE_DRIVER_HIGH = 0x094;
    /** Offset of QueueDeviceLow (write-only): low 32 bits of the selected queue's used ring address. */
    public static final int QUEUE_DEVICE_LOW = 0x0a0;
    /** Offset of QueueDeviceHigh (write-only): high 32 bits of the used ring address. */
    public static final int QUEUE_DEVICE_HIGH = 0x0a4;
    /** Offset of SHMSel (write-only): the shared memory region that the SHM* registers refer to. */
    public static final int SHM_SEL = 0x0ac;
    /** Offset of SHMLenLow (read-only): low 32 bits of the selected region's length; all ones if absent. */
    public static final int SHM_LEN_LOW = 0x0b0;
    /** Offset of SHMLenHigh (read-only): high 32 bits of the selected region's length. */
    public static final int SHM_LEN_HIGH = 0x0b4;
    /** Offset of SHMBaseLow (read-only): low 32 bits of the selected region's guest-physical address. */
    public static final int SHM_BASE_LOW = 0x0b8;
    /** Offset of SHMBaseHigh (read-only): high 32 bits of the selected region's address. */
    public static final int SHM_BASE_HIGH = 0x0bc;
    /** Offset of ConfigGeneration (read-only): changes whenever the configuration space changes. */
    public static final int CONFIG_GENERATION = 0x0fc;
    /** Offset of the device-specific configuration space. */
    public static final int CONFIG = 0x100;

    /** InterruptStatus bit: a used ring was updated. */
    public static final int INT_VRING = 1;
    /** InterruptStatus bit: the configuration changed. */
    public static final int INT_CONFIG = 2;

    /** vmm4j's vendor ID: "vm4j" in little-endian ASCII. */
    public static final int VMM4J_VENDOR_ID = 0x6a34_6d76;

    private MmioRegisters() {}
}
