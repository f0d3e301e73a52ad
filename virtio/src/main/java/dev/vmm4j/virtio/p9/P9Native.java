// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.p9;

import static dev.vmm4j.kvm.bindings.LinuxHeaders.C_INT;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.C_LONG;
import static dev.vmm4j.kvm.bindings.LinuxHeaders.C_POINTER;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCall;
import dev.vmm4j.vmm.sys.Libc;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The file-system calls of the 9P server, each returning its result or {@code -errno} and allocating nothing.
 * Strings are NUL-terminated native segments the caller owns. Internal to the server.
 *
 * <p>{@code openat2} has no glibc wrapper before 2.38, so it goes through {@code syscall(SYS_openat2, ...)}.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; errno is captured per thread.
 */
final class P9Native {
    private static final MethodHandle SYSCALL_OPENAT2 = NativeCall.errnoCapturing(
            "syscall",
            FunctionDescriptor.of(C_LONG, C_LONG, C_INT, C_POINTER, C_POINTER, C_LONG),
            Linker.Option.firstVariadicArg(1));
    private static final MethodHandle OPENAT = NativeCall.errnoCapturing(
            "openat", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT, C_INT), Linker.Option.firstVariadicArg(3));
    private static final MethodHandle CLOSE = NativeCall.errnoCapturing("close", FunctionDescriptor.of(C_INT, C_INT));
    private static final MethodHandle FSTATAT =
            NativeCall.errnoCapturing("fstatat", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_INT));
    private static final MethodHandle MKDIRAT =
            NativeCall.errnoCapturing("mkdirat", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT));
    private static final MethodHandle MKNODAT =
            NativeCall.errnoCapturing("mknodat", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT, C_LONG));
    private static final MethodHandle SYMLINKAT =
            NativeCall.errnoCapturing("symlinkat", FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_POINTER));
    private static final MethodHandle LINKAT = NativeCall.errnoCapturing(
            "linkat", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT, C_POINTER, C_INT));
    private static final MethodHandle RENAMEAT =
            NativeCall.errnoCapturing("renameat", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT, C_POINTER));
    private static final MethodHandle UNLINKAT =
            NativeCall.errnoCapturing("unlinkat", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT));
    private static final MethodHandle READLINKAT =
            NativeCall.errnoCapturing("readlinkat", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_POINTER, C_LONG));
    private static final MethodHandle FCHOWNAT =
            NativeCall.errnoCapturing("fchownat", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT, C_INT, C_INT));
    private static final MethodHandle FCHMODAT =
            NativeCall.errnoCapturing("fchmodat", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT, C_INT));
    private static final MethodHandle UTIMENSAT =
            NativeCall.errnoCapturing("utimensat", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_INT));
    private static final MethodHandle FSTATFS =
            NativeCall.errnoCapturing("fstatfs", FunctionDescriptor.of(C_INT, C_INT, C_POINTER));
    private static final MethodHandle GETDENTS64 =
            NativeCall.errnoCapturing("getdents64", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_LONG));
    private static final MethodHandle LSEEK =
            NativeCall.errnoCapturing("lseek", FunctionDescriptor.of(C_LONG, C_INT, C_LONG, C_INT));
    private static final MethodHandle FTRUNCATE =
            NativeCall.errnoCapturing("ftruncate", FunctionDescriptor.of(C_INT, C_INT, C_LONG));
    private static final MethodHandle FDATASYNC =
            NativeCall.errnoCapturing("fdatasync", FunctionDescriptor.of(C_INT, C_INT));

    private P9Native() {}

    private static int result(int r, MemorySegment state) {
        return r < 0 ? -NativeCall.errno(state) : r;
    }

    private static long result(long r, MemorySegment state) {
        return r < 0 ? -NativeCall.errno(state) : r;
    }

    static int openat2(int dirFd, MemorySegment path, MemorySegment openHow) {
        MemorySegment state = NativeCall.callState();
        try {
            long r = (long) SYSCALL_OPENAT2.invokeExact(
                    state, (long) LinuxHeaders.SYS_openat2(), dirFd, path, openHow, openHow.byteSize());
            return (int) result(r, state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static int openat(int dirFd, MemorySegment path, int flags, int mode) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) OPENAT.invokeExact(state, dirFd, path, flags, mode), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static int close(int fd) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) CLOSE.invokeExact(state, fd), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static int fstatat(int dirFd, MemorySegment path, MemorySegment stat, int flags) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) FSTATAT.invokeExact(state, dirFd, path, stat, flags), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static int mkdirat(int dirFd, MemorySegment name, int mode) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) MKDIRAT.invokeExact(state, dirFd, name, mode), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static int mknodat(int dirFd, MemorySegment name, int mode, long dev) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) MKNODAT.invokeExact(state, dirFd, name, mode, dev), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static int symlinkat(MemorySegment target, int dirFd, MemorySegment name) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) SYMLINKAT.invokeExact(state, target, dirFd, name), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static int linkat(int oldDirFd, MemorySegment oldPath, int newDirFd, MemorySegment newName, int flags) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) LINKAT.invokeExact(state, oldDirFd, oldPath, newDirFd, newName, flags), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static int renameat(int oldDirFd, MemorySegment oldName, int newDirFd, MemorySegment newName) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) RENAMEAT.invokeExact(state, oldDirFd, oldName, newDirFd, newName), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static int unlinkat(int dirFd, MemorySegment name, int flags) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) UNLINKAT.invokeExact(state, dirFd, name, flags), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static long readlinkat(int dirFd, MemorySegment path, MemorySegment buffer) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((long) READLINKAT.invokeExact(state, dirFd, path, buffer, buffer.byteSize()), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static int fchownat(int dirFd, MemorySegment path, int uid, int gid, int flags) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) FCHOWNAT.invokeExact(state, dirFd, path, uid, gid, flags), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static int fchmodat(int dirFd, MemorySegment path, int mode, int flags) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) FCHMODAT.invokeExact(state, dirFd, path, mode, flags), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static int utimensat(int dirFd, MemorySegment path, MemorySegment times, int flags) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) UTIMENSAT.invokeExact(state, dirFd, path, times, flags), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static int fstatfs(int fd, MemorySegment statfs) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) FSTATFS.invokeExact(state, fd, statfs), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static long getdents64(int fd, MemorySegment buffer, long length) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((long) GETDENTS64.invokeExact(state, fd, buffer, length), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static long lseek(int fd, long offset, int whence) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((long) LSEEK.invokeExact(state, fd, offset, whence), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    static int ftruncate(int fd, long length) {
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) FTRUNCATE.invokeExact(state, fd, length), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }

    /** {@code fdatasync(fd)}, or {@code fsync(fd)} (vmm-api's) unless {@code dataOnly}: 0, or {@code -errno}. */
    static int fsync(int fd, boolean dataOnly) {
        if (!dataOnly) {
            return Libc.fsync(fd);
        }
        MemorySegment state = NativeCall.callState();
        try {
            return result((int) FDATASYNC.invokeExact(state, fd), state);
        } catch (Throwable t) {
            throw NativeCall.rethrow(t);
        }
    }
}
