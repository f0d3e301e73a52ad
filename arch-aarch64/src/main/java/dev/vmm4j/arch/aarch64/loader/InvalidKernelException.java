package dev.vmm4j.arch.aarch64.loader;

/** A file is not a loadable arm64 kernel Image; the message says what is wrong with it. */
public final class InvalidKernelException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /** {@code problem} with the kernel named {@code what}. */
    public InvalidKernelException(String what, String problem) {
        super("cannot load " + what + ": " + problem);
    }
}
