package dev.vmm4j.vmm.resources;

/** A {@link SystemAllocator} or {@link AddressAllocator} could not give what was asked: the message says what, for whom, and why. */
public final class AllocationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public AllocationException(String message) {
        super(message);
    }
}
