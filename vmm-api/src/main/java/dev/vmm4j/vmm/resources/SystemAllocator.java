// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.resources;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The resources a VM hands its devices: interrupt lines, and ranges of the port-I/O, MMIO and device-memory address
 * spaces. The architecture sets the pools up; devices ask for what they need while the VM is built.
 *
 * <pre>{@code
 * SystemAllocator resources = SystemAllocator.builder()
 *         .irqs(5, 23).ioPorts(0x0, 0x10000).mmio(0xd000_0000L, 0x1000_0000L).build();
 * int irq = resources.allocateIrq("virtio-blk-0");
 * long window = resources.mmio().allocate(0x1000, 0x1000, "virtio-blk-0");
 * }</pre>
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class SystemAllocator {
    private final int firstIrq;
    private final int lastIrq;
    private final BitSet irqsTaken = new BitSet();
    private final Map<Integer, String> irqOwners = new HashMap<>();
    private final AddressAllocator ioPorts;
    private final AddressAllocator mmio;
    private final AddressAllocator deviceMemory;

    private SystemAllocator(Builder builder) {
        this.firstIrq = builder.firstIrq;
        this.lastIrq = builder.lastIrq;
        this.ioPorts = builder.ioPorts;
        this.mmio = builder.mmio;
        this.deviceMemory = builder.deviceMemory;
    }

    /** {@return a builder; every pool is optional, and asking an absent one is an error that names it} */
    public static Builder builder() {
        return new Builder();
    }

    /** Sets up the pools of a {@link SystemAllocator}. */
    public static final class Builder {
        private boolean built;
        private int firstIrq = -1;
        private int lastIrq = -2;
        private AddressAllocator ioPorts;
        private AddressAllocator mmio;
        private AddressAllocator deviceMemory;

        private Builder() {}

        /**
         * Interrupt lines {@code first} to {@code last}, inclusive. Replaces an earlier call's range.
         *
         * @param first the lowest line to hand out, in the architecture's numbering (GSIs on x86_64, SPI numbers on
         *     aarch64), 0 or more
         * @param last the highest line to hand out, {@code first} or more
         * @return this builder
         * @throws IllegalStateException if this builder has built already
         * @throws IllegalArgumentException if {@code first} is negative or {@code last} is below it
         */
        public Builder irqs(int first, int last) {
            requireNotBuilt();
            if (first < 0 || last < first) {
                throw new IllegalArgumentException("IRQ range must be 0 <= first <= last, got " + first + ".." + last);
            }
            this.firstIrq = first;
            this.lastIrq = last;
            return this;
        }

        /**
         * Port I/O: {@code size} ports from {@code base}, within 0..0xffff. Replaces an earlier call's pool.
         *
         * @param base the first port
         * @param size how many ports, more than 0
         * @return this builder
         * @throws IllegalStateException if this builder has built already
         * @throws IllegalArgumentException if {@code base} is negative, {@code size} is not positive, or the ports pass
         *     0xffff
         */
        public Builder ioPorts(long base, long size) {
            requireNotBuilt();
            if (base < 0 || size <= 0 || base > 0x10000 || size > 0x10000 - base) { // base + size could overflow
                throw new IllegalArgumentException(
                        String.format(Locale.ROOT, "I/O ports [%#x, +%#x) must lie within 0..0xffff", base, size));
            }
            this.ioPorts = new AddressAllocator("I/O ports", base, size);
            return this;
        }

        /**
         * MMIO: {@code size} bytes of guest-physical address space from {@code base}. Replaces an earlier call's pool.
         *
         * @param base guest-physical address of the pool's first byte, unsigned
         * @param size the pool's length in bytes, unsigned and not 0
         * @return this builder
         * @throws IllegalStateException if this builder has built already
         * @throws IllegalArgumentException if {@code size} is 0 or the pool would pass the top of the 64-bit space
         */
        public Builder mmio(long base, long size) {
            requireNotBuilt();
            this.mmio = new AddressAllocator("MMIO", base, size);
            return this;
        }

        /**
         * Device memory (shared memory regions, BARs): {@code size} bytes from {@code base}. Replaces an earlier call's
         * pool.
         *
         * @param base guest-physical address of the pool's first byte, unsigned
         * @param size the pool's length in bytes, unsigned and not 0
         * @return this builder
         * @throws IllegalStateException if this builder has built already
         * @throws IllegalArgumentException if {@code size} is 0 or the pool would pass the top of the 64-bit space
         */
        public Builder deviceMemory(long base, long size) {
            requireNotBuilt();
            this.deviceMemory = new AddressAllocator("device memory", base, size);
            return this;
        }

        /**
         * {@return an allocator with the pools set so far} Nothing is checked here: a pool that was not set fails
         * when it is asked for. A builder builds once, as two allocators must not hand out the same address pools.
         *
         * @throws IllegalStateException if this builder has built already
         */
        public SystemAllocator build() {
            requireNotBuilt();
            built = true;
            return new SystemAllocator(this);
        }

        private void requireNotBuilt() {
            if (built) {
                throw new IllegalStateException(
                        "this SystemAllocator.Builder has built its allocator; make a new builder for another");
            }
        }
    }

    /**
     * Takes the lowest free interrupt line for {@code tag}.
     *
     * @param tag the owner's name, kept with the line and named in errors
     * @return it, in the architecture's numbering that {@link Builder#irqs} used
     * @throws AllocationException if no IRQ pool was set up or none is left
     */
    public synchronized int allocateIrq(String tag) {
        Objects.requireNonNull(tag, "tag");
        if (firstIrq < 0) {
            throw new AllocationException("no IRQ pool was set up, so none can be given to " + tag);
        }
        int irq = irqsTaken.nextClearBit(firstIrq);
        if (irq > lastIrq) {
            throw new AllocationException(String.format(
                    Locale.ROOT,
                    "no IRQ left for %s: all of %d..%d are taken (%s)",
                    tag,
                    firstIrq,
                    lastIrq,
                    irqOwners));
        }
        irqsTaken.set(irq);
        irqOwners.put(irq, tag);
        return irq;
    }

    /**
     * Gives back interrupt line {@code irq}.
     *
     * @param irq the line, as {@link #allocateIrq} returned it
     * @return false if it was not taken
     */
    public synchronized boolean releaseIrq(int irq) {
        if (irq < 0 || !irqsTaken.get(irq)) {
            return false;
        }
        irqsTaken.clear(irq);
        irqOwners.remove(irq);
        return true;
    }

    /**
     * {@return the port-I/O pool}
     *
     * @throws AllocationException if none was set up
     */
    public AddressAllocator ioPorts() {
        return require(ioPorts, "I/O port");
    }

    /**
     * {@return the MMIO pool}
     *
     * @throws AllocationException if none was set up
     */
    public AddressAllocator mmio() {
        return require(mmio, "MMIO");
    }

    /**
     * {@return the device-memory pool}
     *
     * @throws AllocationException if none was set up
     */
    public AddressAllocator deviceMemory() {
        return require(deviceMemory, "device memory");
    }

    private static AddressAllocator require(AddressAllocator pool, String what) {
        if (pool == null) {
            throw new AllocationException("no " + what + " pool was set up on this system allocator");
        }
        return pool;
    }
}
