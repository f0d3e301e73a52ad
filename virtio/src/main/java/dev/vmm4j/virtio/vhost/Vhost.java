// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vhost;

import dev.vmm4j.kvm.bindings.Errno;
import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCall;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.kvm.bindings.vhost_memory;
import dev.vmm4j.kvm.bindings.vhost_memory_region;
import dev.vmm4j.kvm.bindings.vhost_vring_addr;
import dev.vmm4j.kvm.bindings.vhost_vring_file;
import dev.vmm4j.kvm.bindings.vhost_vring_state;
import dev.vmm4j.virtio.queue.SplitQueue;
import dev.vmm4j.virtio.queue.VirtqLayout;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.memory.GuestMemoryException;
import dev.vmm4j.vmm.memory.GuestRegion;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A kernel vhost device ({@code /dev/vhost-net}, {@code /dev/vhost-vsock}): the host kernel serves a virtio device's
 * queues itself, reading and writing guest memory through this process's mapping of it. vmm4j tells it the memory
 * table, each ring's size, start and addresses, the eventfd the guest kicks (KVM's ioeventfd for the queue) and the
 * eventfd the kernel signals when it used buffers ({@code <linux/vhost.h>}; the KVM API's vhost section).
 *
 * <p><b>Ownership:</b> owns the vhost fd; {@link #close()} closes it, which stops the kernel's worker.
 *
 * <p><b>Thread safety:</b> not thread-safe; the device that owns it serialises its calls.
 */
public final class Vhost implements AutoCloseable {
    private final OwnedFd fd;
    private final String path;

    private Vhost(OwnedFd fd, String path) {
        this.fd = fd;
        this.path = path;
    }

    /**
     * {@return {@code path} opened and owned by this process (VHOST_SET_OWNER)} The caller owns the result and must
     * close it.
     *
     * @param path the vhost device node, such as {@code /dev/vhost-net}; opened read-write
     * @throws IOException if the device node is missing (the module is not loaded) or cannot be opened, or the kernel
     *     refuses VHOST_SET_OWNER; the message names the node and the errno
     */
    public static Vhost open(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        String name = path.toString();
        if (!Files.exists(path)) {
            throw new IOException(name + " does not exist: this host's kernel offers no "
                    + path.getFileName() + " (load its module with modprobe "
                    + path.getFileName().toString().replace('-', '_')
                    + "), or leave the kernel backend out and let vmm4j move the data");
        }
        int raw;
        try {
            raw = Libc.open(name, LinuxHeaders.O_RDWR(), "(the kernel's vhost backend)");
        } catch (NativeCallException e) {
            throw new IOException("cannot open " + name + ": " + Errno.describe(e.errno()), e);
        }
        Vhost vhost = new Vhost(new OwnedFd(raw, name), name);
        try {
            vhost.call("VHOST_SET_OWNER", LinuxHeaders.VHOST_SET_OWNER(), 0L);
        } catch (IOException | RuntimeException e) {
            vhost.close();
            throw e;
        }
        return vhost;
    }

    /**
     * {@return the virtio and vhost feature bits the kernel's device supports}
     *
     * @throws IOException if VHOST_GET_FEATURES fails (the message names the errno)
     */
    public long features() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment features = arena.allocate(ValueLayout.JAVA_LONG);
            call("VHOST_GET_FEATURES", LinuxHeaders.VHOST_GET_FEATURES(), features);
            return features.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /**
     * Tells the kernel the features the driver accepted (only bits {@link #features()} has).
     *
     * @param features the feature bits, as a 64-bit mask; vhost's own bits (such as VHOST_F_LOG_ALL) count too
     * @throws IOException if the kernel refuses them, such as for a bit it does not support ({@code EOPNOTSUPP})
     */
    public void setFeatures(long features) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            call(
                    "VHOST_SET_FEATURES",
                    LinuxHeaders.VHOST_SET_FEATURES(),
                    arena.allocateFrom(ValueLayout.JAVA_LONG, features));
        }
    }

    /**
     * Tells the kernel where each region of guest memory is mapped in this process.
     *
     * @param memory the VM's guest memory; the kernel keeps each region's guest-physical address, size and host
     *     address, so the mappings must outlive the vhost worker's use of them (close the rings before unmapping)
     * @throws IOException if VHOST_SET_MEM_TABLE fails, such as for more regions than the kernel's
     *     {@code max_mem_regions}
     */
    public void setMemoryTable(GuestMemory memory) throws IOException {
        List<GuestRegion> regions = memory.regions();
        try (Arena arena = Arena.ofConfined()) {
            long regionBytes = vhost_memory_region.sizeof();
            MemorySegment table = arena.allocate(vhost_memory.regions$offset() + regions.size() * regionBytes, 8);
            vhost_memory.nregions(table, regions.size());
            for (int i = 0; i < regions.size(); i++) {
                GuestRegion region = regions.get(i);
                MemorySegment entry = table.asSlice(vhost_memory.regions$offset() + i * regionBytes, regionBytes);
                vhost_memory_region.guest_phys_addr(entry, region.start());
                vhost_memory_region.memory_size(entry, region.size());
                vhost_memory_region.userspace_addr(entry, region.memory().address());
            }
            call("VHOST_SET_MEM_TABLE", LinuxHeaders.VHOST_SET_MEM_TABLE(), table);
        }
    }

    /**
     * Hands the kernel queue {@code index}, as the driver set it up in {@code queue} (already activated, so its rings
     * are checked to lie in guest memory): its size, start 0, ring addresses, and the kick and call eventfds.
     *
     * @param index the queue's index in the device, 0 first
     * @param memory the guest memory the queue was activated with, to turn ring addresses into this process's
     * @param queue the activated queue; its size and the driver's ring addresses are read
     * @param kickFd the eventfd the guest's notifications arrive on (KVM's ioeventfd for the queue); the kernel takes
     *     its own reference, the caller keeps its fd
     * @param callFd the eventfd the kernel signals when it used buffers; the kernel takes its own reference, the
     *     caller keeps its fd
     * @throws IOException if a ring does not lie in one region of guest memory, or the kernel refuses one of the
     *     requests (the message names which)
     */
    public void setVring(int index, GuestMemory memory, SplitQueue queue, int kickFd, int callFd) throws IOException {
        int size = queue.size();
        vringState("VHOST_SET_VRING_NUM", LinuxHeaders.VHOST_SET_VRING_NUM(), index, size);
        vringState("VHOST_SET_VRING_BASE", LinuxHeaders.VHOST_SET_VRING_BASE(), index, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addresses = vhost_vring_addr.allocate(arena);
            vhost_vring_addr.index(addresses, index);
            vhost_vring_addr.desc_user_addr(
                    addresses, hostAddress(memory, queue.descTableAddress(), VirtqLayout.descTableBytes(size)));
            vhost_vring_addr.avail_user_addr(
                    addresses, hostAddress(memory, queue.availRingAddress(), VirtqLayout.availRingBytes(size)));
            vhost_vring_addr.used_user_addr(
                    addresses, hostAddress(memory, queue.usedRingAddress(), VirtqLayout.usedRingBytes(size)));
            call("VHOST_SET_VRING_ADDR", LinuxHeaders.VHOST_SET_VRING_ADDR(), addresses);
        }
        vringFile("VHOST_SET_VRING_KICK", LinuxHeaders.VHOST_SET_VRING_KICK(), index, kickFd);
        vringFile("VHOST_SET_VRING_CALL", LinuxHeaders.VHOST_SET_VRING_CALL(), index, callFd);
    }

    private static long hostAddress(GuestMemory memory, long gpa, long bytes) throws IOException {
        try {
            return memory.slice(gpa, bytes).address();
        } catch (GuestMemoryException e) {
            throw new IOException("a ring at " + Long.toHexString(gpa) + " is not in one region of guest memory", e);
        }
    }

    /**
     * Stops the kernel serving queue {@code index}.
     *
     * @param index the queue's index in the device, as given to {@link #setVring}
     * @return the index it had reached in the available ring
     * @throws IOException if VHOST_GET_VRING_BASE fails, such as for an index the device does not have
     */
    public int stopVring(int index) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = vhost_vring_state.allocate(arena);
            vhost_vring_state.index(state, index);
            call("VHOST_GET_VRING_BASE", LinuxHeaders.VHOST_GET_VRING_BASE(), state);
            return vhost_vring_state.num(state);
        }
    }

    /**
     * Makes a device-specific vring-file request, such as VHOST_NET_SET_BACKEND ({@code fileFd} -1 detaches).
     *
     * @param name the request's name, for the error message
     * @param request the ioctl request number, such as {@code LinuxHeaders.VHOST_NET_SET_BACKEND()}
     * @param index the queue the request is for
     * @param fileFd the fd passed with it, or -1; the caller keeps its fd
     * @throws IOException if the kernel refuses the request (the message names it and the errno)
     */
    public void vringFile(String name, long request, int index, int fileFd) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment file = vhost_vring_file.allocate(arena);
            vhost_vring_file.index(file, index);
            vhost_vring_file.fd(file, fileFd);
            call(name, request, file);
        }
    }

    /**
     * Makes a device-specific request with a 64-bit value, such as VHOST_VSOCK_SET_GUEST_CID.
     *
     * @param name the request's name, for the error message
     * @param request the ioctl request number, such as {@code LinuxHeaders.VHOST_VSOCK_SET_GUEST_CID()}
     * @param value passed to the kernel by pointer, as the request expects
     * @throws IOException if the kernel refuses the request (the message names it and the errno)
     */
    public void setValue(String name, long request, long value) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            call(name, request, arena.allocateFrom(ValueLayout.JAVA_LONG, value));
        }
    }

    private void vringState(String name, long request, int index, int value) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = vhost_vring_state.allocate(arena);
            vhost_vring_state.index(state, index);
            vhost_vring_state.num(state, value);
            call(name, request, state);
        }
    }

    private void call(String name, long request, MemorySegment argument) throws IOException {
        check(name, NativeCall.ioctl(fd.get(), request, argument));
    }

    private void call(String name, long request, long argument) throws IOException {
        check(name, NativeCall.ioctl(fd.get(), request, argument));
    }

    private void check(String name, int result) throws IOException {
        if (result < 0) {
            throw new IOException(path + ": " + name + " failed: " + Errno.describe(-result));
        }
    }

    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "Vhost[" + fd + "]";
    }
}
