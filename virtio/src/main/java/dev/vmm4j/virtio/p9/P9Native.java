// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.p9;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCall;
import dev.vmm4j.kvm.bindings.Syscall;
import dev.vmm4j.vmm.sys.Libc;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;

/**
 * The file-system calls of the 9P server, each returning its result or {@code -errno} and allocating nothing.
 * Strings are NUL-terminated native segments the caller owns. Internal to the server.
 *
 * <p>Each is a system call through {@link NativeCall#syscall}, one downcall stub for all (see {@link Syscall}): the
 * call glibc's wrapper makes ({@code fstatat} is {@code newfstatat}), with glibc's check where the kernel's argument
 * is narrower ({@code mknodat}'s device number), and {@code fchmodat} taking no flags, as the kernel's call has none
 * (glibc emulates {@code AT_SYMLINK_NOFOLLOW}). Segments are passed as addresses and kept reachable
 * until the call returns; the caller keeps their arenas open.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class P9Native {
    private P9Native() {}

    static int openat2(int dirFd, MemorySegment path, MemorySegment openHow) {
        try {
            return (int) NativeCall.syscall(
                    Syscall.OPENAT2,
                    dirFd,
                    NativeCall.address(path),
                    NativeCall.address(openHow),
                    openHow.byteSize(),
                    0,
                    0);
        } finally {
            Reference.reachabilityFence(path);
            Reference.reachabilityFence(openHow);
        }
    }

    static int openat(int dirFd, MemorySegment path, int flags, int mode) {
        try {
            return (int) NativeCall.syscall(Syscall.OPENAT, dirFd, NativeCall.address(path), flags, mode, 0, 0);
        } finally {
            Reference.reachabilityFence(path);
        }
    }

    static int close(int fd) {
        return (int) NativeCall.syscall(Syscall.CLOSE, fd, 0, 0, 0, 0, 0);
    }

    static int fstatat(int dirFd, MemorySegment path, MemorySegment stat, int flags) {
        try {
            return (int) NativeCall.syscall(
                    Syscall.NEWFSTATAT, dirFd, NativeCall.address(path), NativeCall.address(stat), flags, 0, 0);
        } finally {
            Reference.reachabilityFence(path);
            Reference.reachabilityFence(stat);
        }
    }

    static int mkdirat(int dirFd, MemorySegment name, int mode) {
        try {
            return (int) NativeCall.syscall(Syscall.MKDIRAT, dirFd, NativeCall.address(name), mode, 0, 0, 0);
        } finally {
            Reference.reachabilityFence(name);
        }
    }

    /** {@code dev} as glibc's {@code dev_t}: one that does not fit the kernel's 32 bits is EOVERFLOW, as glibc says. */
    static int mknodat(int dirFd, MemorySegment name, int mode, long dev) {
        if ((dev & 0xffff_ffffL) != dev) {
            return -LinuxHeaders.EOVERFLOW();
        }
        try {
            return (int) NativeCall.syscall(Syscall.MKNODAT, dirFd, NativeCall.address(name), mode, dev, 0, 0);
        } finally {
            Reference.reachabilityFence(name);
        }
    }

    static int symlinkat(MemorySegment target, int dirFd, MemorySegment name) {
        try {
            return (int) NativeCall.syscall(
                    Syscall.SYMLINKAT, NativeCall.address(target), dirFd, NativeCall.address(name), 0, 0, 0);
        } finally {
            Reference.reachabilityFence(target);
            Reference.reachabilityFence(name);
        }
    }

    static int linkat(int oldDirFd, MemorySegment oldPath, int newDirFd, MemorySegment newName, int flags) {
        try {
            return (int) NativeCall.syscall(
                    Syscall.LINKAT,
                    oldDirFd,
                    NativeCall.address(oldPath),
                    newDirFd,
                    NativeCall.address(newName),
                    flags,
                    0);
        } finally {
            Reference.reachabilityFence(oldPath);
            Reference.reachabilityFence(newName);
        }
    }

    static int renameat(int oldDirFd, MemorySegment oldName, int newDirFd, MemorySegment newName) {
        try {
            return (int) NativeCall.syscall(
                    Syscall.RENAMEAT,
                    oldDirFd,
                    NativeCall.address(oldName),
                    newDirFd,
                    NativeCall.address(newName),
                    0,
                    0);
        } finally {
            Reference.reachabilityFence(oldName);
            Reference.reachabilityFence(newName);
        }
    }

    static int unlinkat(int dirFd, MemorySegment name, int flags) {
        try {
            return (int) NativeCall.syscall(Syscall.UNLINKAT, dirFd, NativeCall.address(name), flags, 0, 0, 0);
        } finally {
            Reference.reachabilityFence(name);
        }
    }

    static long readlinkat(int dirFd, MemorySegment path, MemorySegment buffer) {
        try {
            return NativeCall.syscall(
                    Syscall.READLINKAT,
                    dirFd,
                    NativeCall.address(path),
                    NativeCall.address(buffer),
                    buffer.byteSize(),
                    0,
                    0);
        } finally {
            Reference.reachabilityFence(path);
            Reference.reachabilityFence(buffer);
        }
    }

    static int fchownat(int dirFd, MemorySegment path, int uid, int gid, int flags) {
        try {
            return (int) NativeCall.syscall(Syscall.FCHOWNAT, dirFd, NativeCall.address(path), uid, gid, flags, 0);
        } finally {
            Reference.reachabilityFence(path);
        }
    }

    /**
     * {@code fchmodat(dirFd, path, mode)}: the kernel's call has no flags, so only 0 is taken (glibc emulates
     * {@code AT_SYMLINK_NOFOLLOW}, which the server never asks for: it changes modes through {@code /proc/self/fd}).
     */
    static int fchmodat(int dirFd, MemorySegment path, int mode, int flags) {
        if (flags != 0) {
            return -LinuxHeaders.EINVAL();
        }
        try {
            return (int) NativeCall.syscall(Syscall.FCHMODAT, dirFd, NativeCall.address(path), mode, 0, 0, 0);
        } finally {
            Reference.reachabilityFence(path);
        }
    }

    static int utimensat(int dirFd, MemorySegment path, MemorySegment times, int flags) {
        try {
            return (int) NativeCall.syscall(
                    Syscall.UTIMENSAT, dirFd, NativeCall.address(path), NativeCall.address(times), flags, 0, 0);
        } finally {
            Reference.reachabilityFence(path);
            Reference.reachabilityFence(times);
        }
    }

    static int fstatfs(int fd, MemorySegment statfs) {
        try {
            return (int) NativeCall.syscall(Syscall.FSTATFS, fd, NativeCall.address(statfs), 0, 0, 0, 0);
        } finally {
            Reference.reachabilityFence(statfs);
        }
    }

    static long getdents64(int fd, MemorySegment buffer, long length) {
        if (length < 0 || length > buffer.byteSize()) {
            throw new IndexOutOfBoundsException("getdents64 of " + length + " bytes into " + buffer.byteSize());
        }
        try {
            return NativeCall.syscall(Syscall.GETDENTS64, fd, NativeCall.address(buffer), length, 0, 0, 0);
        } finally {
            Reference.reachabilityFence(buffer);
        }
    }

    static long lseek(int fd, long offset, int whence) {
        return NativeCall.syscall(Syscall.LSEEK, fd, offset, whence, 0, 0, 0);
    }

    static int ftruncate(int fd, long length) {
        return (int) NativeCall.syscall(Syscall.FTRUNCATE, fd, length, 0, 0, 0, 0);
    }

    /** {@code fdatasync(fd)}, or {@code fsync(fd)} (vmm-api's) unless {@code dataOnly}: 0, or {@code -errno}. */
    static int fsync(int fd, boolean dataOnly) {
        return dataOnly ? (int) NativeCall.syscall(Syscall.FDATASYNC, fd, 0, 0, 0, 0, 0) : Libc.fsync(fd);
    }
}
