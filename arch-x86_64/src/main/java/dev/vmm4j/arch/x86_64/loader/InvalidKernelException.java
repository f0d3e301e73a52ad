package dev.vmm4j.arch.x86_64.loader;

/** A kernel or initrd image that cannot be loaded: malformed, truncated, too big, or of an unsupported kind. */
public final class InvalidKernelException extends Exception {
    private static final long serialVersionUID = 1L;

    public InvalidKernelException(String message) {
        super(message);
    }

    public InvalidKernelException(String message, Throwable cause) {
        super(message, cause);
    }
}
