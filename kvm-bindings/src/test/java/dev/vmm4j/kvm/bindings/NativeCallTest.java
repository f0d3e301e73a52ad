// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.kvm.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import org.junit.jupiter.api.Test;

class NativeCallTest {
    @Test
    void errnoCapturingHandleReportsTheErrnoOfTheCall() throws Throwable {
        MethodHandle close = NativeCall.errnoCapturing(LinuxHeaders.close$address(), LinuxHeaders.close$descriptor());
        MemorySegment state = NativeCall.callState();
        int result = (int) close.invokeExact(state, -1);
        assertEquals(-1, result);
        assertEquals(LinuxHeaders.EBADF(), NativeCall.errno(state));
    }

    @Test
    void ioctlOnABadDescriptorReturnsMinusErrnoWithoutThrowing() {
        assertEquals(-LinuxHeaders.EBADF(), NativeCall.ioctl(-1, LinuxHeaders.KVM_GET_API_VERSION(), 0L));
        assertEquals(
                -LinuxHeaders.EBADF(), NativeCall.ioctl(-1, LinuxHeaders.KVM_GET_API_VERSION(), MemorySegment.NULL));
    }

    @Test
    void checkedIoctlNamesTheCallAndTheErrno() {
        NativeCallException e = assertThrows(
                NativeCallException.class,
                () -> NativeCall.checkedIoctl("KVM_GET_API_VERSION", -1, LinuxHeaders.KVM_GET_API_VERSION(), 0L));
        assertEquals("KVM_GET_API_VERSION failed: EBADF (Bad file descriptor)", e.getMessage());
        assertEquals("KVM_GET_API_VERSION", e.call());
        assertEquals(LinuxHeaders.EBADF(), e.errno());
        assertEquals("EBADF", e.errnoName());
    }

    @Test
    void checkPassesResultsThroughAndTurnsMinusErrnoIntoAnException() {
        assertEquals(7, NativeCall.check("read", 7));
        NativeCallException e = assertThrows(
                NativeCallException.class, () -> NativeCall.check("KVM_CREATE_VCPU", -LinuxHeaders.EEXIST()));
        assertEquals("KVM_CREATE_VCPU failed: EEXIST (File exists)", e.getMessage());
    }

    @Test
    void exceptionCarriesAHintAfterTheErrno() {
        NativeCallException e =
                new NativeCallException("open /dev/kvm", LinuxHeaders.EACCES(), "add yourself to the kvm group");
        assertEquals("open /dev/kvm failed: EACCES (Permission denied): add yourself to the kvm group", e.getMessage());
    }

    @Test
    void errnoNamesAndDescriptionsComeFromLibc() {
        assertEquals("EINTR", Errno.name(LinuxHeaders.EINTR()));
        assertEquals("Interrupted system call", Errno.description(LinuxHeaders.EINTR()));
        assertEquals("ENOENT (No such file or directory)", Errno.describe(LinuxHeaders.ENOENT()));
        assertEquals("errno 9999", Errno.name(9999));
        assertEquals("errno 9999", Errno.description(9999));
    }
}
