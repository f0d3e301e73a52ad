// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio;

/** Virtio device IDs (virtio 1.2, section 5). */
public final class VirtioIds {
    /** Network card. */
    public static final int NET = 1;
    /** Block device. */
    public static final int BLOCK = 2;
    /** Console. */
    public static final int CONSOLE = 3;
    /** Entropy source. */
    public static final int RNG = 4;
    /** Memory balloon (the traditional one). */
    public static final int BALLOON = 5;
    /** 9P transport, for sharing host files with the guest. */
    public static final int NINE_P = 9;
    /** Socket device (vsock). */
    public static final int VSOCK = 19;

    private VirtioIds() {}

    /**
     * {@return the conventional short name of device type {@code id}, such as {@code virtio-blk}}
     *
     * @param id a virtio device ID; one this class has no constant for gets {@code virtio-<id>}
     */
    public static String name(int id) {
        return switch (id) {
            case NET -> "virtio-net";
            case BLOCK -> "virtio-blk";
            case CONSOLE -> "virtio-console";
            case RNG -> "virtio-rng";
            case BALLOON -> "virtio-balloon";
            case NINE_P -> "virtio-9p";
            case VSOCK -> "virtio-vsock";
            default -> "virtio-" + id;
        };
    }
}
