// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.devices;

import dev.vmm4j.vmm.bus.BusDevice;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A device that is there and does nothing: reads return zeros, writes are dropped. crosvm puts one on the x86 ports
 * guests poke without needing an answer (the 0xed delay port, the old FPU error ports, the PCI configuration ports
 * when there is no PCI), so those accesses end quietly instead of as "no device" surprises.
 *
 * <p><b>Thread safety:</b> safe for concurrent use (stateless).
 */
public final class NullDevice implements BusDevice {
    private final String name;

    /**
     * A null device named {@code name} in bus listings and errors.
     *
     * @param name what {@link #toString()} returns, such as {@code "delay port"}; not null
     */
    public NullDevice(String name) {
        this.name = Objects.requireNonNull(name, "name");
    }

    @Override
    public void read(long offset, MemorySegment data) {
        data.fill((byte) 0);
    }

    @Override
    public void write(long offset, MemorySegment data) {
        // Nothing to do: that is the device.
    }

    @Override
    public String toString() {
        return name;
    }
}
