// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.balloon;

/**
 * One sample of the host's memory state, as a {@link MemoryPressureSource} sees it.
 *
 * @param low whether the host is short of memory now: the balloon should grow
 * @param availableBytes memory the host could hand out without reclaiming (Linux: MemAvailable)
 * @param marginBytes how much available memory the host wants to keep
 */
public record MemoryPressure(boolean low, long availableBytes, long marginBytes) {
    /**
     * {@return whether the balloon may give {@code stepBytes} back to the guest} As crosvm decides: only when the host
     * is not short, and would still have its margin plus two steps available.
     *
     * @param stepBytes how much the balloon would shrink by, in bytes
     */
    public boolean canReclaim(long stepBytes) {
        return !low && availableBytes - marginBytes >= 2 * stepBytes;
    }
}
