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

    /** The guest-physical address of the access, unsigned. */
    private final long address;
    /** The length of the access in bytes. */
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
        /** The first address of the access that no region holds. */
        private final long missing;

        /**
         * An access no region wholly holds.
         *
         * @param address guest-physical address of the access
         * @param length its length in bytes
         * @param missing the first address in it that no region holds, normally in {@code [address, address + length)}
         */
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

        /**
         * An access that wraps past 2^64 - 1.
         *
         * @param address guest-physical address of the access
         * @param length its length in bytes, printed unsigned
         */
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
        /** How many bytes were copied before the access stopped. */
        private final long completed;

        /**
         * An access that stopped part way.
         *
         * @param address guest-physical address of the access
         * @param length the bytes it should have copied
         * @param completed the bytes it did copy, from the start
         * @param why what stopped it, for the message: a gap (at which address), a region boundary, or end of file
         */
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

        /**
         * An atomic access that is not naturally aligned; its {@link #length()} is the alignment.
         *
         * @param address guest-physical address of the access
         * @param alignment the size of the access in bytes, which is also the alignment it needs
         */
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
