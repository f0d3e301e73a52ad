// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import dev.vmm4j.kvm.bindings.kvm_device_attr;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;

/**
 * An in-kernel device made by {@link Vm#createDevice(int)} (aarch64's GICv2/v3, its ITS, VFIO), configured
 * through attributes: a group, an attribute in it, and a 64-bit value passed by address.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class KvmDevice implements AutoCloseable {
    private final int type;
    private final OwnedFd fd;

    KvmDevice(int type, OwnedFd fd) {
        this.type = type;
        this.fd = fd;
    }

    /** {@return the {@code KVM_DEV_TYPE_*} this device was created as} */
    public int type() {
        return type;
    }

    /** {@return the device's file descriptor; it stays owned by this object} */
    public int fd() {
        return fd.get();
    }

    /**
     * {@return whether the device knows attribute {@code attr} of {@code group} ({@code KVM_HAS_DEVICE_ATTR})} Any
     * failure of the ioctl counts as no.
     *
     * @param group the {@code KVM_DEV_*_GRP_*} attribute group of this device type
     * @param attr the attribute within {@code group}; its meaning (an index, a register offset, a command) is the
     *     group's
     */
    public boolean hasAttribute(int group, long attr) {
        try (Arena arena = Arena.ofConfined()) {
            return KvmIoctl.KVM_HAS_DEVICE_ATTR.raw(fd.get(), attribute(arena, group, attr, MemorySegment.NULL)) == 0;
        }
    }

    /**
     * Sets attribute {@code attr} of {@code group} to the 64-bit {@code value} ({@code KVM_SET_DEVICE_ATTR}).
     *
     * @param group the {@code KVM_DEV_*_GRP_*} attribute group of this device type
     * @param attr the attribute within {@code group}; its meaning (an index, a register offset, a command) is the
     *     group's
     * @param value the value, passed to KVM by address in 8 bytes; attributes of 32 bits read only the low half
     * @throws KvmException if KVM refuses it; the message names the device type, group and attribute
     */
    public void setAttribute(int group, long attr, long value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocateFrom(ValueLayout.JAVA_LONG, value);
            KvmIoctl.KVM_SET_DEVICE_ATTR.call(fd.get(), attribute(arena, group, attr, data), describe(group, attr));
        }
    }

    /**
     * Sets attribute {@code attr} of {@code group}, one that takes no value (such as a control command).
     *
     * @param group the {@code KVM_DEV_*_GRP_*} attribute group of this device type
     * @param attr the attribute within {@code group}; its meaning (an index, a register offset, a command) is the
     *     group's
     * @throws KvmException if KVM refuses it; the message names the device type, group and attribute
     */
    public void setAttribute(int group, long attr) {
        try (Arena arena = Arena.ofConfined()) {
            KvmIoctl.KVM_SET_DEVICE_ATTR.call(
                    fd.get(), attribute(arena, group, attr, MemorySegment.NULL), describe(group, attr));
        }
    }

    /**
     * {@return the 64-bit value of attribute {@code attr} of {@code group} ({@code KVM_GET_DEVICE_ATTR})} A 32-bit
     * attribute comes zero-extended.
     *
     * @param group the {@code KVM_DEV_*_GRP_*} attribute group of this device type
     * @param attr the attribute within {@code group}; its meaning (an index, a register offset, a command) is the
     *     group's
     * @throws KvmException if KVM refuses it; the message names the device type, group and attribute
     */
    public long getAttribute(int group, long attr) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(ValueLayout.JAVA_LONG);
            KvmIoctl.KVM_GET_DEVICE_ATTR.call(fd.get(), attribute(arena, group, attr, data), describe(group, attr));
            return data.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    private static MemorySegment attribute(Arena arena, int group, long attr, MemorySegment data) {
        MemorySegment attribute = arena.allocate(kvm_device_attr.layout());
        kvm_device_attr.group(attribute, group);
        kvm_device_attr.attr(attribute, attr);
        kvm_device_attr.addr(attribute, data.address());
        return attribute;
    }

    private String describe(int group, long attr) {
        return String.format(Locale.ROOT, "device type %d, group %d, attribute %#x", type, group, attr);
    }

    @Override
    public void close() {
        fd.close();
    }
}
