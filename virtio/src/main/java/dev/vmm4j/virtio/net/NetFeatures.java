// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.net;

/**
 * The virtio-net feature bits vmm4j offers (virtio 1.2, section 5.1.3), the set crosvm negotiates, and what the
 * guest's choice means for the tap's offloads.
 */
public final class NetFeatures {
    /** The device handles packets with partial checksum (the driver may leave the checksum to the host). */
    public static final int CSUM = 0;
    /** The driver handles packets with partial checksum (the host may hand it packets to finish). */
    public static final int GUEST_CSUM = 1;
    /** The device has a MAC address in its configuration space. */
    public static final int MAC = 5;
    /** The driver can receive TCPv4 segmentation offload packets (up to 64 KiB). */
    public static final int GUEST_TSO4 = 7;
    /** The driver can receive UDP fragmentation offload packets. */
    public static final int GUEST_UFO = 10;
    /** The device can receive TCPv4 segmentation offload packets from the driver. */
    public static final int HOST_TSO4 = 11;
    /** The device can receive UDP fragmentation offload packets from the driver. */
    public static final int HOST_UFO = 14;

    /** The header before every frame in both directions: struct virtio_net_hdr with num_buffers (VERSION_1). */
    public static final int HEADER_BYTES = 12;
    /** The largest frame after the header: a 64 KiB offload packet plus its Ethernet header (and a VLAN tag). */
    public static final int MAX_FRAME_BYTES = 65_535 + 14 + 4;

    // TUNSETOFFLOAD flags (<linux/if_tun.h>); stable kernel ABI values.
    static final int TUN_F_CSUM = 0x01;
    static final int TUN_F_TSO4 = 0x02;
    static final int TUN_F_UFO = 0x10;

    private NetFeatures() {}

    /**
     * {@return the feature bits offered: crosvm's set, plus {@link #MAC} when the device has an address}
     *
     * @param withMac whether the device shows the driver a MAC address in its configuration space
     */
    public static long offered(boolean withMac) {
        long features = bit(CSUM) | bit(GUEST_CSUM) | bit(GUEST_TSO4) | bit(GUEST_UFO) | bit(HOST_TSO4) | bit(HOST_UFO);
        return withMac ? features | bit(MAC) : features;
    }

    /**
     * {@return the TUNSETOFFLOAD flags matching what the driver accepted} The tap may hand the guest only packets it
     * can take: partial checksums once it accepted GUEST_CSUM, and large segments only on top of that.
     *
     * @param acked the feature bits the driver accepted
     */
    public static int tapOffload(long acked) {
        if ((acked & bit(GUEST_CSUM)) == 0) {
            return 0;
        }
        int flags = TUN_F_CSUM;
        if ((acked & bit(GUEST_TSO4)) != 0) {
            flags |= TUN_F_TSO4;
        }
        if ((acked & bit(GUEST_UFO)) != 0) {
            flags |= TUN_F_UFO;
        }
        return flags;
    }

    static long bit(int feature) {
        return 1L << feature;
    }
}
