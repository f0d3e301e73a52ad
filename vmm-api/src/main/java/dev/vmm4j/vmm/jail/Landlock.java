// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.LANDLOCK_ACCESS_FS_EXECUTE;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.LANDLOCK_ACCESS_FS_MAKE_BLOCK;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.LANDLOCK_ACCESS_FS_MAKE_CHAR;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.LANDLOCK_ACCESS_FS_MAKE_DIR;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.LANDLOCK_ACCESS_FS_MAKE_FIFO;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.LANDLOCK_ACCESS_FS_MAKE_REG;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.LANDLOCK_ACCESS_FS_MAKE_SOCK;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.LANDLOCK_ACCESS_FS_MAKE_SYM;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.LANDLOCK_ACCESS_FS_READ_DIR;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.LANDLOCK_ACCESS_FS_READ_FILE;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.LANDLOCK_ACCESS_FS_REFER;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.LANDLOCK_ACCESS_FS_REMOVE_DIR;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.LANDLOCK_ACCESS_FS_REMOVE_FILE;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.LANDLOCK_ACCESS_FS_WRITE_FILE;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.O_PATH;

import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.vmm.sys.Libc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * Landlock, the kernel's unprivileged filesystem sandbox: a second fence behind the seccomp filter, for the calls the
 * filter must allow but cannot judge by their arguments (a path is a string, which seccomp cannot read).
 *
 * <pre>{@code
 * // On the thread that will start the device's threads, before the seccomp filter:
 * if (!Landlock.restrictSelf(List.of(javaHome, classPath), List.of(sharedDir))) {
 *     // the kernel has no Landlock: refuse to start, or go on with seccomp alone, as the user chose
 * }
 * SeccompFilter.compile(policy).install();
 * }</pre>
 *
 * <h2>Rights</h2>
 * The ruleset handles every filesystem right the build's headers (Linux 6.1) know: ABI 1's execute, write, read,
 * read-dir, remove-dir, remove-file and make-char/dir/reg/sock/fifo/block/sym, plus ABI 2's refer (linking or renaming
 * across directories) where the kernel has ABI 2 or later. Handled rights are denied everywhere except beneath the
 * paths given:
 * <ul>
 *   <li>read-only paths: read files, list directories;</li>
 *   <li>read-write paths: that, plus write files, make and remove files, directories, symlinks, sockets and fifos,
 *       and move them around within read-write paths.</li>
 * </ul>
 * Nothing gets execute, nor make-char or make-block: a jailed device starts no program and makes no device node.
 * A right that is a directory's (read-dir, remove, make, refer) is dropped from a rule for a plain file, as the
 * kernel requires. Rights of later ABIs (truncate from 3, network from 4, device ioctls from 5, scoping from 6) are not
 * handled, so they stay allowed: the seccomp filter is what limits those calls.
 *
 * <h2>Which threads</h2>
 * Landlock restricts the calling thread and the threads it starts afterwards, not the threads that already exist:
 * kernels before Landlock ABI 8 have no way to restrict a whole process. A JVM's own threads (GC, JIT, the reference
 * handler, finalizer and signal dispatcher) started long before, and keep their access. Virtual threads are not
 * fenced either: they run on the scheduler's carrier threads, whichever thread started those. So restrict the thread
 * that will then start every platform thread that touches the device's data, and do not count on Landlock for any
 * other (LandlockTest shows both holes).
 *
 * <h2>Order</h2>
 * Restrict before installing the seccomp filter: {@link SyscallPolicy#jvm()} does not allow the Landlock calls (nor
 * the {@code open} of each path a rule needs). Both need no_new_privs, which {@link #restrictSelf} sets on the calling
 * thread.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; {@link #restrictSelf} changes only the calling thread.
 */
public final class Landlock {
    private static final System.Logger LOG = System.getLogger(Landlock.class.getName());

    /** The rights a rule may give a file that is not a directory (Landlock refuses directory rights there). */
    private static final long FILE_RIGHTS =
            LANDLOCK_ACCESS_FS_EXECUTE() | LANDLOCK_ACCESS_FS_WRITE_FILE() | LANDLOCK_ACCESS_FS_READ_FILE();

    private static final long ABI_1_RIGHTS = LANDLOCK_ACCESS_FS_EXECUTE()
            | LANDLOCK_ACCESS_FS_WRITE_FILE()
            | LANDLOCK_ACCESS_FS_READ_FILE()
            | LANDLOCK_ACCESS_FS_READ_DIR()
            | LANDLOCK_ACCESS_FS_REMOVE_DIR()
            | LANDLOCK_ACCESS_FS_REMOVE_FILE()
            | LANDLOCK_ACCESS_FS_MAKE_CHAR()
            | LANDLOCK_ACCESS_FS_MAKE_DIR()
            | LANDLOCK_ACCESS_FS_MAKE_REG()
            | LANDLOCK_ACCESS_FS_MAKE_SOCK()
            | LANDLOCK_ACCESS_FS_MAKE_FIFO()
            | LANDLOCK_ACCESS_FS_MAKE_BLOCK()
            | LANDLOCK_ACCESS_FS_MAKE_SYM();

    private static final long ABI_2_RIGHTS = ABI_1_RIGHTS | LANDLOCK_ACCESS_FS_REFER();

    private static final long READ_ONLY = LANDLOCK_ACCESS_FS_READ_FILE() | LANDLOCK_ACCESS_FS_READ_DIR();

    private static final long READ_WRITE = READ_ONLY
            | LANDLOCK_ACCESS_FS_WRITE_FILE()
            | LANDLOCK_ACCESS_FS_REMOVE_DIR()
            | LANDLOCK_ACCESS_FS_REMOVE_FILE()
            | LANDLOCK_ACCESS_FS_MAKE_DIR()
            | LANDLOCK_ACCESS_FS_MAKE_REG()
            | LANDLOCK_ACCESS_FS_MAKE_SOCK()
            | LANDLOCK_ACCESS_FS_MAKE_FIFO()
            | LANDLOCK_ACCESS_FS_MAKE_SYM()
            | LANDLOCK_ACCESS_FS_REFER();

    private Landlock() {}

    /**
     * {@return the kernel's Landlock ABI version, or 0 where it has none} (built without it, or not enabled among
     * the boot's security modules: {@code lsm=...,landlock}).
     */
    public static int abiVersion() {
        long version = JailNative.landlockAbiVersion();
        return version < 0 ? 0 : (int) version;
    }

    /**
     * Restricts the calling thread, and the threads it starts from now on, to reading {@code readOnly} and reading and
     * writing {@code readWrite} (files, or directories and everything beneath them), for the rest of their lives.
     * Sets no_new_privs on the calling thread first, as Landlock requires of an unprivileged process.
     *
     * <p>Threads that exist already are not restricted (see the class description). Paths are resolved now: a rule
     * follows the file or directory, not its name, so a directory renamed later keeps its rule.
     *
     * @param readOnly existing files and directories the thread may read (and list, and execute); relative paths are
     *     resolved against the working directory; may be empty
     * @param readWrite existing files and directories the thread may also write, and create and remove entries in;
     *     resolved as {@code readOnly} is; may be empty
     * @return {@code true} if the restriction is in place; {@code false}, changing nothing, if the kernel has no
     *     Landlock ({@link #abiVersion()} is 0): the caller decides whether to go on without it
     * @throws JailException if a path cannot be opened, or the kernel refuses a rule or the restriction; the thread is
     *     then not restricted
     */
    public static boolean restrictSelf(Collection<Path> readOnly, Collection<Path> readWrite) {
        List<Path> reads = List.copyOf(Objects.requireNonNull(readOnly, "readOnly"));
        List<Path> writes = List.copyOf(Objects.requireNonNull(readWrite, "readWrite"));
        int abi = abiVersion();
        if (abi < 1) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "this kernel has no Landlock (not built in, or not in the lsm= boot list):"
                            + " thread {0} is not restricted to its paths",
                    Thread.currentThread().getName());
            return false;
        }
        long handled = abi >= 2 ? ABI_2_RIGHTS : ABI_1_RIGHTS;
        JailNative.setNoNewPrivs();
        int ruleset = JailNative.landlockCreateRuleset(handled);
        try {
            for (Path path : reads) {
                addRule(ruleset, path, READ_ONLY & handled);
            }
            for (Path path : writes) {
                addRule(ruleset, path, READ_WRITE & handled);
            }
            JailNative.landlockRestrictSelf(ruleset);
        } finally {
            Libc.close(ruleset);
        }
        return true;
    }

    private static void addRule(int ruleset, Path path, long rights) {
        Path absolute = path.toAbsolutePath();
        long allowed = Files.isDirectory(absolute) ? rights : rights & FILE_RIGHTS;
        int fd;
        try {
            fd = Libc.open(absolute.toString(), O_PATH(), "a Landlock rule needs an existing file or directory");
        } catch (NativeCallException e) {
            throw new JailException("cannot add Landlock rule for " + absolute + ": " + e.getMessage(), e);
        }
        try {
            JailNative.landlockAddPathBeneath(ruleset, fd, allowed, absolute);
        } finally {
            Libc.close(fd);
        }
    }
}
