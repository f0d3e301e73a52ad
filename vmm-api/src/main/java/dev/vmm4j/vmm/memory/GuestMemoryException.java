// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.memory;

import java.util.Locale;
import java.util.Objects;

/**
 * An access that is not wholly inside guest memory, or not as aligned as it must be. Every failure of
 * {@link GuestMemory} is one of these four kinds; each message names the guest-physical address and the length.
 */
public abstract sealed class GuestMemoryException extends Exception {
    private static final long serialVersionUID = 1L;

    private final long address;
    private final long length;

    private GuestMemoryException(String message, long address, long length) {
        super(message);
        this.address = address;
        this.length = length;
    }

    /** {@return the guest-physical address of the access} */
    public long address() {
        return address;
    }

    /** {@return the length of the access in bytes} */
    public long length() {
        return length;
    }

    static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }

    /** No region holds the byte at {@link #missing()}; nothing was copied. */
    public static final class InvalidAddress extends GuestMemoryException {
        private static final long serialVersionUID = 1L;
        private final long missing;

        public InvalidAddress(long address, long length, long missing) {
            super(
                    String.format(
                            Locale.ROOT,
                            "guest memory has no byte at %s (access of %d bytes at %s)",
                            hex(missing),
                            length,
                            hex(address)),
                    address,
                    length);
            this.missing = missing;
        }

        /** {@return the first address of the access that no region holds} */
        public long missing() {
            return missing;
        }
    }

    /** The access runs past the end of the 64-bit guest-physical address space. */
    public static final class AddressOverflow extends GuestMemoryException {
        private static final long serialVersionUID = 1L;

        public AddressOverflow(long address, long length) {
            super(
                    String.format(
                            Locale.ROOT,
                            "access of %s bytes at %s runs past the end of the 64-bit address space",
                            Long.toUnsignedString(length),
                            hex(address)),
                    address,
                    length);
        }
    }

    /** Only the first {@link #completed()} of {@link #length()} bytes were copied: a gap in guest memory, or end of file. */
    public static final class PartialAccess extends GuestMemoryException {
        private static final long serialVersionUID = 1L;
        private final long completed;

        public PartialAccess(long address, long length, long completed, String why) {
            super(
                    String.format(
                            Locale.ROOT,
                            "only %d of %d bytes at %s could be accessed: %s",
                            completed,
                            length,
                            hex(address),
                            Objects.requireNonNull(why, "why")),
                    address,
                    length);
            this.completed = completed;
        }

        /** {@return how many bytes were copied before the access stopped} */
        public long completed() {
            return completed;
        }
    }

    /** An atomic access at an address that is not a multiple of its size. */
    public static final class Misaligned extends GuestMemoryException {
        private static final long serialVersionUID = 1L;

        public Misaligned(long address, int alignment) {
            super(
                    String.format(
                            Locale.ROOT,
                            "atomic access of %d bytes at %s is not %d-byte aligned",
                            alignment,
                            hex(address),
                            alignment),
                    address,
                    alignment);
        }
    }
}
