// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import static dev.vmm4j.virtio.block.BlockLayout.*;

import dev.vmm4j.virtio.ActivationException;
import dev.vmm4j.virtio.DeviceActivation;
import dev.vmm4j.virtio.QueueHandler;
import dev.vmm4j.virtio.ServedQueues;
import dev.vmm4j.virtio.VirtioDevice;
import dev.vmm4j.virtio.VirtioIds;
import dev.vmm4j.virtio.queue.DescriptorChain;
import dev.vmm4j.vmm.JfrEvents;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import dev.vmm4j.vmm.memory.GuestRegion;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The virtio block device (virtio 1.2, section 5.2) over a {@link DiskImage}: one request queue; reads, writes,
 * flushes, GET_ID, and discards where the image can give space back (qcow2: VIRTIO_BLK_F_DISCARD, aligned to its
 * clusters); VIRTIO_BLK_F_RO for a read-only image; the capacity in sectors in its configuration space.
 *
 * <p>Data moves straight between the image and guest memory ({@code pread}/{@code pwrite} on views of the
 * descriptors' buffers), with no copy and no allocation on the way. Every request is checked first: a chain without
 * the 16-byte header or without a status byte is returned unused; a bad sector or length (not a multiple of 512, past
 * the end of the disk), a write to a read-only disk, or an I/O error gets VIRTIO_BLK_S_IOERR; an unknown type gets
 * VIRTIO_BLK_S_UNSUPP. Nothing a driver sends makes the device throw. Each request is a JFR {@code dev.vmm4j.BlockRequest}
 * event when a recording enables it.
 *
 * <p><b>Thread safety:</b> see {@link VirtioDevice}; requests are served on the device's event loop.
 */
public final class BlockDevice implements VirtioDevice, AutoCloseable {
    /** The request queue's maximum size. */
    public static final int QUEUE_SIZE = 256;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final DiskImage image;
    private final long capacitySectors;
    private final byte[] id;
    /** The ID as text, for JFR's {@link BlockRequestEvent}. */
    private final String idText;

    private final MemorySegment config;
    // Preallocated per device, used only on the device's loop thread.
    private final MemorySegment header = MemorySegment.ofArray(new byte[HEADER_SIZE]);
    private final MemorySegment status = MemorySegment.ofArray(new byte[1]);
    private final ServedQueues served = new ServedQueues();
    private GuestMemory memory;

    /**
     * A block device over {@code image}, answering GET_ID with {@code id} (up to 20 bytes of ASCII).
     * The device owns the image and closes it.
     *
     * @param image the disk; its size, read-only flag and discard support are read once, here, for the features and
     *     the configuration space (a size that is not a multiple of 512 loses its partial last sector)
     * @param id the GET_ID answer: cut to its first 20 bytes, characters outside ASCII sent as {@code '?'}
     */
    public BlockDevice(DiskImage image, String id) {
        this.image = Objects.requireNonNull(image, "image");
        byte[] idBytes = Objects.requireNonNull(id, "id").getBytes(StandardCharsets.US_ASCII);
        this.id = Arrays.copyOf(idBytes, Math.min(idBytes.length, ID_BYTES));
        this.idText = new String(this.id, StandardCharsets.US_ASCII);
        this.capacitySectors = image.sizeBytes() / SECTOR_SIZE;
        this.config = MemorySegment.ofArray(new byte[CONFIG_SIZE]);
        config.set(LONG, CONFIG_CAPACITY, capacitySectors);
        config.set(INT, CONFIG_SEG_MAX, QUEUE_SIZE - 2);
        config.set(INT, CONFIG_BLK_SIZE, SECTOR_SIZE);
        if (image.supportsDiscard()) {
            config.set(INT, CONFIG_MAX_DISCARD_SECTORS, MAX_DISCARD_SECTORS);
            config.set(INT, CONFIG_MAX_DISCARD_SEG, MAX_DISCARD_SEGMENTS);
            config.set(
                    INT, CONFIG_DISCARD_SECTOR_ALIGNMENT, (int) Math.max(1, image.discardGranularity() / SECTOR_SIZE));
        }
    }

    /**
     * Opens and locks the image {@code path}, qcow2 or raw as its first bytes say (see {@link DiskImages}), and makes a
     * block device of it, with the file's name as its ID.
     *
     * @param path the image file, or {@code /proc/self/fd/N} for an inherited fd N
     * @param readOnly whether the image is opened read-only (and the device offers VIRTIO_BLK_F_RO)
     * @return the device, which owns the image and closes it in {@link #close()}
     * @throws IOException if the image cannot be opened, is locked by another VM, or is not a usable qcow2 image
     */
    public static BlockDevice open(Path path, boolean readOnly) throws IOException {
        return new BlockDevice(DiskImages.open(path, readOnly), idOf(path));
    }

    /**
     * Opens and locks {@code path} as a raw image, whatever its first bytes (see {@link RawDiskImage}), and makes a
     * block device of it, with the file's name as its ID. The guest may then write a qcow2 header into it.
     *
     * @param path the image file, or {@code /proc/self/fd/N} for an inherited fd N
     * @param readOnly whether the image is opened read-only (and the device offers VIRTIO_BLK_F_RO)
     * @return the device, which owns the image and closes it in {@link #close()}
     * @throws IOException if the image cannot be opened or is locked by another VM or process
     */
    public static BlockDevice openRaw(Path path, boolean readOnly) throws IOException {
        return new BlockDevice(RawDiskImage.open(path, readOnly), idOf(path));
    }

    /**
     * Opens and locks {@code path} as a qcow2 image (see {@link Qcow2Image}), and makes a block device of it, with the
     * file's name as its ID.
     *
     * @param path the image file, or {@code /proc/self/fd/N} for an inherited fd N
     * @param readOnly whether the image is opened read-only (and the device offers VIRTIO_BLK_F_RO); its backing chain
     *     is read-only either way
     * @return the device, which owns the image and closes it in {@link #close()}
     * @throws IOException if the image cannot be opened, is locked by another VM or process, or is not a usable qcow2
     *     image ({@link InvalidImageException})
     */
    public static BlockDevice openQcow2(Path path, boolean readOnly) throws IOException {
        return new BlockDevice(Qcow2Image.open(path, readOnly), idOf(path));
    }

    private static String idOf(Path path) {
        Path name = path.getFileName();
        return name == null ? "vmm4j" : name.toString();
    }

    /** {@return the image behind the device} */
    public DiskImage image() {
        return image;
    }

    /** {@return the disk's size in 512-byte sectors (a partial last sector is not visible)} */
    public long capacitySectors() {
        return capacitySectors;
    }

    @Override
    public int deviceType() {
        return VirtioIds.BLOCK;
    }

    @Override
    public long deviceFeatures() {
        long features = (1L << VIRTIO_BLK_F_SEG_MAX) | (1L << VIRTIO_BLK_F_BLK_SIZE) | (1L << VIRTIO_BLK_F_FLUSH);
        if (image.supportsDiscard()) {
            features |= 1L << VIRTIO_BLK_F_DISCARD;
        }
        return image.isReadOnly() ? features | (1L << VIRTIO_BLK_F_RO) : features;
    }

    @Override
    public List<Integer> queueMaxSizes() {
        return List.of(QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, MemorySegment data) {
        data.fill((byte) 0);
        if (offset >= 0 && offset < CONFIG_SIZE) {
            long n = Math.min(data.byteSize(), CONFIG_SIZE - offset);
            MemorySegment.copy(config, offset, data, 0, n);
        }
    }

    @Override
    public synchronized void activate(DeviceActivation activation) throws ActivationException {
        if (!activation.queues().getFirst().isActive()) {
            throw new ActivationException("the request queue (0) is not set up");
        }
        memory = activation.memory();
        served.serve(activation.eventLoop(), QueueHandler.forQueue(name(), activation, 0, this::serve));
    }

    @Override
    public synchronized void reset() {
        served.stop();
    }

    /**
     * Serves one valid request chain of an activated device, on the device's thread: what its {@link QueueHandler}
     * does with each chain, public for handlers and benchmarks of your own.
     *
     * @param chain a chain popped from the request queue that {@link DescriptorChain#isValid() is valid}; it is read
     *     and its writable buffers are written (the status byte last), but it is not returned to the used ring: that is
     *     the caller's job
     * @return the bytes written to the chain's writable buffers
     * @throws GuestMemoryException if a buffer is not in guest memory;
     *     {@link dev.vmm4j.virtio.queue.SplitQueue#popChain} checked each one, so not for a chain it gave
     * @throws IllegalStateException if the device is not activated, or the chain is not valid (one too short to hold a
     *     header and a status byte is answered 0 before that is checked)
     */
    public long serve(DescriptorChain chain) throws GuestMemoryException {
        if (memory == null) {
            throw new IllegalStateException(name() + " is not activated");
        }
        if (chain.readableBytes() < HEADER_SIZE || chain.writableBytes() < 1) {
            return 0; // 5.2.6: no header or no status byte; nothing sensible to answer
        }
        // never escapes: free when JFR does not record it, and never made (nor its class loaded) before JFR is up
        BlockRequestEvent event = JfrEvents.mayRecord() ? new BlockRequestEvent() : null;
        if (event != null) {
            event.begin();
        }
        chain.readReadable(0, header);
        int type = header.get(INT, 0);
        long sector = header.get(LONG, 8);
        long statusOffset = chain.writableBytes() - 1;
        long written = 1;
        long dataBytes = 0;
        int result;
        switch (type) {
            case VIRTIO_BLK_T_IN -> {
                dataBytes = statusOffset;
                result = transfer(chain, sector, statusOffset, true);
                if (result == VIRTIO_BLK_S_OK) {
                    written += statusOffset;
                }
            }
            case VIRTIO_BLK_T_OUT -> {
                dataBytes = chain.readableBytes() - HEADER_SIZE;
                result = image.isReadOnly() ? VIRTIO_BLK_S_IOERR : transfer(chain, sector, dataBytes, false);
            }
            case VIRTIO_BLK_T_FLUSH -> result = flush();
            case VIRTIO_BLK_T_GET_ID -> {
                int n = (int) Math.min(statusOffset, ID_BYTES);
                MemorySegment answer = MemorySegment.ofArray(new byte[n]);
                MemorySegment.copy(MemorySegment.ofArray(id), 0, answer, 0, Math.min(n, id.length));
                chain.writeWritable(0, answer);
                written += n;
                dataBytes = n;
                result = VIRTIO_BLK_S_OK;
            }
            case VIRTIO_BLK_T_DISCARD -> {
                dataBytes = chain.readableBytes() - HEADER_SIZE;
                result = image.supportsDiscard() ? discard(chain) : VIRTIO_BLK_S_UNSUPP;
            }
            default -> result = VIRTIO_BLK_S_UNSUPP;
        }
        status.set(ValueLayout.JAVA_BYTE, 0, (byte) result);
        chain.writeWritable(statusOffset, status);
        if (event != null && event.shouldCommit()) {
            event.device = idText;
            event.operation = BlockRequestEvent.operationName(type);
            event.sector = sector;
            event.bytes = dataBytes;
            event.status = BlockRequestEvent.statusName(result);
            event.commit();
        }
        return written;
    }

    /**
     * Moves {@code bytes} between the disk at {@code sector} and the chain's data buffers: for a read, the writable
     * buffers up to the status byte; for a write, the readable buffers after the header.
     */
    private int transfer(DescriptorChain chain, long sector, long bytes, boolean read) {
        if (bytes % SECTOR_SIZE != 0
                || sector < 0
                || sector > capacitySectors
                || bytes / SECTOR_SIZE > capacitySectors - sector) {
            return VIRTIO_BLK_S_IOERR;
        }
        long position = sector * SECTOR_SIZE;
        long skip = read ? 0 : HEADER_SIZE; // bytes of the stream before the data
        long remaining = bytes;
        int first = read ? chain.readableCount() : 0;
        int last = read ? chain.descriptorCount() : chain.readableCount();
        try {
            for (int i = first; i < last && remaining > 0; i++) {
                long length = chain.length(i);
                if (skip >= length) {
                    skip -= length;
                    continue;
                }
                long n = Math.min(length - skip, remaining);
                transferBuffer(chain.address(i) + skip, n, position, read);
                position += n;
                remaining -= n;
                skip = 0;
            }
        } catch (IOException e) {
            System.getLogger(BlockDevice.class.getName()).log(System.Logger.Level.WARNING, e.getMessage());
            return VIRTIO_BLK_S_IOERR;
        }
        return VIRTIO_BLK_S_OK;
    }

    /**
     * Moves one buffer (already checked to lie in guest memory) between the image and the region(s) holding it,
     * addressing each region by offset so that no view object is made per request.
     */
    private void transferBuffer(long gpa, long length, long position, boolean read) throws IOException {
        List<GuestRegion> regions = memory.regions();
        long done = 0;
        for (int r = 0; r < regions.size() && done < length; r++) {
            GuestRegion region = regions.get(r);
            long address = gpa + done;
            if (!region.contains(address)) {
                continue;
            }
            long offset = address - region.start();
            long n = Math.min(length - done, region.size() - offset);
            if (read) {
                image.read(position + done, region.memory(), offset, n);
            } else {
                image.write(position + done, region.memory(), offset, n);
            }
            done += n;
        }
        if (done < length) {
            throw new IOException(String.format(Locale.ROOT, "buffer %#x+%#x left guest memory", gpa, length));
        }
    }

    /** 5.2.6.2: the readable bytes after the header are segments {u64 sector, u32 num_sectors, u32 flags}. */
    private int discard(DescriptorChain chain) throws GuestMemoryException {
        long bytes = chain.readableBytes() - HEADER_SIZE;
        if (bytes <= 0 || bytes % DISCARD_SEGMENT_SIZE != 0 || bytes / DISCARD_SEGMENT_SIZE > MAX_DISCARD_SEGMENTS) {
            return VIRTIO_BLK_S_IOERR;
        }
        MemorySegment segments = MemorySegment.ofArray(new byte[(int) bytes]);
        chain.readReadable(HEADER_SIZE, segments);
        for (long at = 0; at < bytes; at += DISCARD_SEGMENT_SIZE) {
            long sector = segments.get(LONG, at);
            long count = Integer.toUnsignedLong(segments.get(INT, at + 8));
            int flags = segments.get(INT, at + 12);
            if (flags != 0) {
                return VIRTIO_BLK_S_UNSUPP; // the unmap flag belongs to WRITE_ZEROES, which is not offered
            }
            if (count > MAX_DISCARD_SECTORS
                    || sector < 0
                    || sector > capacitySectors
                    || count > capacitySectors - sector) {
                return VIRTIO_BLK_S_IOERR;
            }
        }
        try {
            for (long at = 0; at < bytes; at += DISCARD_SEGMENT_SIZE) {
                image.discard(
                        segments.get(LONG, at) * SECTOR_SIZE,
                        Integer.toUnsignedLong(segments.get(INT, at + 8)) * SECTOR_SIZE);
            }
            return VIRTIO_BLK_S_OK;
        } catch (IOException e) {
            System.getLogger(BlockDevice.class.getName()).log(System.Logger.Level.WARNING, e.getMessage());
            return VIRTIO_BLK_S_IOERR;
        }
    }

    private int flush() {
        try {
            image.flush();
            return VIRTIO_BLK_S_OK;
        } catch (IOException e) {
            System.getLogger(BlockDevice.class.getName()).log(System.Logger.Level.WARNING, e.getMessage());
            return VIRTIO_BLK_S_IOERR;
        }
    }

    /** Closes the image, releasing its lock. */
    @Override
    public void close() {
        image.close();
    }

    @Override
    public String toString() {
        return "BlockDevice[" + image + "]";
    }
}
