// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.queue;

/**
 * Why a descriptor chain the driver made is malformed (virtio 1.2, section 2.7.5). The chain's head is still
 * consumed, so the device returns it to the driver with nothing written, and goes on with the next chain.
 */
public enum ChainError {
    /** The avail ring names a head outside the descriptor table. */
    HEAD_OUT_OF_RANGE("the head index is not below the queue size"),
    /** A descriptor's {@code next} is outside its table. */
    NEXT_OUT_OF_RANGE("a next index is outside its descriptor table"),
    /** More descriptors than the queue size: a loop, or a chain the spec forbids (2.7.5.3.1). */
    TOO_LONG("the chain is longer than the queue size (a loop?)"),
    /** A buffer is not wholly inside guest memory. */
    BUFFER_OUTSIDE_MEMORY("a buffer is not inside guest memory"),
    /** A device-readable descriptor after a device-writable one (2.7.4.2: the driver MUST NOT). */
    READABLE_AFTER_WRITABLE("a device-readable descriptor follows a device-writable one"),
    /** VIRTQ_DESC_F_INDIRECT without VIRTIO_RING_F_INDIRECT_DESC negotiated. */
    INDIRECT_NOT_NEGOTIATED("an indirect descriptor, but VIRTIO_RING_F_INDIRECT_DESC was not negotiated"),
    /** An indirect descriptor inside an indirect table (2.7.5.3.1: the driver MUST NOT). */
    NESTED_INDIRECT("an indirect descriptor inside an indirect table"),
    /** VIRTQ_DESC_F_INDIRECT together with VIRTQ_DESC_F_NEXT (2.7.5.3.1: the driver MUST NOT). */
    INDIRECT_WITH_NEXT("an indirect descriptor also has VIRTQ_DESC_F_NEXT"),
    /** An indirect table whose length is 0 or not a multiple of 16. */
    BAD_INDIRECT_LENGTH("an indirect table's length is 0 or not a multiple of 16"),
    /** An indirect table that is not inside one region of guest memory. */
    INDIRECT_OUTSIDE_MEMORY("an indirect table is not inside one guest memory region");

    private final String description;

    ChainError(String description) {
        this.description = description;
    }

    /** {@return what is wrong, in words} */
    public String description() {
        return description;
    }
}
