// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.bus;

import java.lang.foreign.MemorySegment;

/**
 * A device on a {@link Bus}: the x86 port-I/O bus or an MMIO bus. The vCPU thread that took the exit calls it, so
 * an implementation synchronises its own state, keeps these calls short, and never blocks on guest-driven work.
 *
 * <p>{@code offset} is relative to the start of the device's range, unless it was registered with
 * {@link Bus#insertFullAddress}; {@code data} is the access, 1 to 8 bytes for MMIO and 1, 2 or 4 for port I/O. A
 * string instruction ({@code rep insb}, {@code rep outsw}, ...) arrives as one call per item, in the guest's order,
 * every one at the same port. The guest chooses both: an access may run past the end of the range, and a device checks
 * what it serves.
 *
 * <p><b>Thread safety:</b> called from any vCPU thread, concurrently; implementations must be safe for that.
 */
public interface BusDevice {
    /**
     * Answers a guest read: fills {@code data}.
     *
     * @param offset from the start of the range, or the full bus address (see above)
     * @param data where the bytes the guest reads go, as many as the access has (see above); valid only during the
     *     call, and the bytes the device does not write reach the guest as they were
     */
    void read(long offset, MemorySegment data);

    /**
     * Takes a guest write of {@code data}.
     *
     * @param offset from the start of the range, or the full bus address (see above)
     * @param data the bytes the guest wrote, as many as the access has (see above); valid only during the call, so
     *     copy what must outlive it
     */
    void write(long offset, MemorySegment data);
}
