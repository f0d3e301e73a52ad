// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import static dev.vmm4j.virtio.block.BlockLayout.*;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * JFR: one virtio-blk request a {@link BlockDevice} served, timed from reading its header to writing its status. When
 * no recording enables it, the event object never leaves {@link BlockDevice#serve} and the JIT removes it.
 */
@Name("dev.vmm4j.BlockRequest")
@Label("Block Request")
@Category({"vmm4j", "virtio", "Block"})
@Description("A virtio-blk request, from reading its header to writing its status")
@StackTrace(false)
final class BlockRequestEvent extends jdk.jfr.Event {
    @Label("Device")
    @Description("The disk's ID (its file name unless given another)")
    String device;

    @Label("Operation")
    @Description("read, write, flush, get-id, discard, or unknown (type N)")
    String operation;

    @Label("Sector")
    @Description("The first 512-byte sector (read, write)")
    long sector;

    @Label("Bytes")
    @Description("The request's data: read into or written from guest memory, the ID's bytes, or the discard segments")
    @DataAmount
    long bytes;

    @Label("Status")
    @Description("ok, ioerr or unsupp, as the device answered")
    String status;

    /** {@return the name of the request type {@code type}} Allocates only for a type the device does not know. */
    static String operationName(int type) {
        return switch (type) {
            case VIRTIO_BLK_T_IN -> "read";
            case VIRTIO_BLK_T_OUT -> "write";
            case VIRTIO_BLK_T_FLUSH -> "flush";
            case VIRTIO_BLK_T_GET_ID -> "get-id";
            case VIRTIO_BLK_T_DISCARD -> "discard";
            default -> "unknown (type " + Integer.toUnsignedString(type) + ")";
        };
    }

    /** {@return the name of the status {@code status}} */
    static String statusName(int status) {
        return switch (status) {
            case VIRTIO_BLK_S_OK -> "ok";
            case VIRTIO_BLK_S_IOERR -> "ioerr";
            case VIRTIO_BLK_S_UNSUPP -> "unsupp";
            default -> "status " + status;
        };
    }
}
