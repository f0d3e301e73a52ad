// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.devices;

import dev.vmm4j.vmm.bus.BusDevice;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * The part of the i8042 keyboard controller a VM needs: the data port (0x60) and the command/status port (0x64),
 * whose command 0xfe (pulse the reset line) is how Linux reboots a PC. There is no keyboard behind it: the status
 * port reads 0 (no data, input buffer empty), so a guest driver finds nothing to wait for.
 *
 * <p>Register it on the port-I/O bus at 0x60 with length 5 (offset 0 is 0x60, offset 4 is 0x64); 0x61, the PIT's
 * speaker port in between, is handled by KVM's in-kernel PIT before it ever reaches this device.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class I8042 implements BusDevice {
    /** Offset of the command/status port (0x64) from the data port (0x60). */
    static final long COMMAND = 4;
    /** The command that pulses the CPU reset line. */
    static final int CMD_RESET_CPU = 0xfe;

    private final Runnable resetRequested;

    /**
     * An i8042 that calls {@code resetRequested} (once per request, from the vCPU thread) when the guest resets the
     * machine.
     *
     * @param resetRequested should only ask for the VM to end or restart (the x86_64 machine requests a
     *     {@code GuestReset} exit), not block: the vCPU that wrote the command waits for it
     */
    public I8042(Runnable resetRequested) {
        this.resetRequested = Objects.requireNonNull(resetRequested, "resetRequested");
    }

    @Override
    public void read(long offset, MemorySegment data) {
        data.fill((byte) 0); // no keyboard: nothing to read, the controller is never busy
    }

    @Override
    public void write(long offset, MemorySegment data) {
        if (offset == COMMAND && data.byteSize() >= 1 && (data.get(ValueLayout.JAVA_BYTE, 0) & 0xff) == CMD_RESET_CPU) {
            resetRequested.run();
        }
    }

    @Override
    public String toString() {
        return "i8042";
    }
}
