// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.kvm;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.aarch64.kvm_vcpu_init;
import dev.vmm4j.kvm.bindings.kvm_clock_data;
import dev.vmm4j.kvm.bindings.kvm_create_device;
import dev.vmm4j.kvm.bindings.kvm_dirty_log;
import dev.vmm4j.kvm.bindings.kvm_enable_cap;
import dev.vmm4j.kvm.bindings.kvm_ioeventfd;
import dev.vmm4j.kvm.bindings.kvm_irq_level;
import dev.vmm4j.kvm.bindings.kvm_irq_routing;
import dev.vmm4j.kvm.bindings.kvm_irq_routing_entry;
import dev.vmm4j.kvm.bindings.kvm_irq_routing_irqchip;
import dev.vmm4j.kvm.bindings.kvm_irq_routing_msi;
import dev.vmm4j.kvm.bindings.kvm_irqchip;
import dev.vmm4j.kvm.bindings.kvm_irqfd;
import dev.vmm4j.kvm.bindings.kvm_msi;
import dev.vmm4j.kvm.bindings.kvm_pit_config;
import dev.vmm4j.kvm.bindings.kvm_pit_state2;
import dev.vmm4j.kvm.bindings.kvm_userspace_memory_region;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;

/**
 * A KVM virtual machine: its memory slots, interrupt controller and routing, ioeventfds and irqfds, and the
 * vCPUs and devices it creates. Closing it closes them too.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; KVM serialises the ioctls itself.
 */
public final class Vm implements AutoCloseable {
    private static final long PAGE_SIZE = 4096;

    private final Kvm kvm;
    private final OwnedFd fd;
    /** Registered host memory by slot, kept reachable while KVM maps it. */
    private final Map<Integer, MemorySegment> slots = new HashMap<>();

    private final List<AutoCloseable> children = new ArrayList<>();
    /** Answers the capability checks this VM makes itself: {@link #checkExtension}, except in tests. */
    private final ToIntFunction<Capability> capabilities;

    Vm(Kvm kvm, OwnedFd fd) {
        this(kvm, fd, null);
    }

    /** For tests that play a host without a capability: {@code capabilities} answers instead of the VM fd. */
    Vm(Kvm kvm, OwnedFd fd, ToIntFunction<Capability> capabilities) {
        this.kvm = kvm;
        this.fd = fd;
        this.capabilities = capabilities != null ? capabilities : this::checkExtension;
    }

    /** {@return the VM's file descriptor; it stays owned by this object} */
    public int fd() {
        return fd.get();
    }

    /**
     * {@return KVM's answer to {@code KVM_CHECK_EXTENSION} on this VM (some answers differ per VM)} 0 if the
     * capability is absent, else often a count or limit, as {@link Kvm#checkExtension(Capability)}.
     *
     * @param capability the capability asked about
     */
    public int checkExtension(Capability capability) {
        return KvmIoctl.KVM_CHECK_EXTENSION.call(fd.get(), capability.number());
    }

    /**
     * Enables {@code capability} on this VM with up to four arguments ({@code KVM_ENABLE_CAP}).
     *
     * @param capability a capability that is enabled per VM (see {@link Capability#ENABLE_CAP_VM}), such as
     *     {@link Capability#SPLIT_IRQCHIP}
     * @param args its arguments, as the KVM API document gives them for that capability; missing ones are 0
     * @throws IllegalArgumentException if there are more than four arguments
     * @throws KvmException if KVM cannot enable it on this VM (or not now: many must come before the first vCPU)
     */
    public void enableCap(Capability capability, long... args) {
        enableCap(fd.get(), capability, args, "VM");
    }

    static void enableCap(int fd, Capability capability, long[] args, String target) {
        Objects.requireNonNull(capability, "capability");
        if (args.length > 4) {
            throw new IllegalArgumentException("KVM_ENABLE_CAP takes at most 4 arguments, got " + args.length);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cap = arena.allocate(kvm_enable_cap.layout());
            kvm_enable_cap.cap(cap, capability.number());
            for (int i = 0; i < args.length; i++) {
                kvm_enable_cap.args(cap, i, args[i]);
            }
            KvmIoctl.KVM_ENABLE_CAP.call(fd, cap, capability.kernelName() + " cannot be enabled on this " + target);
        }
    }

    // ---- memory ---------------------------------------------------------------------------------------------

    /**
     * Maps {@code hostMemory} into the guest at {@code guestPhysAddr} as memory slot {@code slot}, replacing what
     * the slot held. Both addresses and the size must be page-aligned, and the range must not overlap another slot.
     * KVM lets a slot in use only move (a new {@code guestPhysAddr}) or change {@link MemorySlotFlag#LOG_DIRTY_PAGES};
     * for other host memory, another size or {@link MemorySlotFlag#READONLY}, {@linkplain #removeUserMemoryRegion
     * remove} it first.
     *
     * @param slot the slot id, 0 to 65535 and below {@link Capability#NR_MEMSLOTS}'s answer; always in address
     *     space 0, as the address-space bits above 65535 are refused
     * @param guestPhysAddr where the memory starts in the guest, page-aligned, unsigned
     * @param hostMemory the native memory that backs it, page-aligned and a whole number of pages (an mmap'ed
     *     region); this VM keeps it reachable while mapped, but the caller owns it and must keep its scope alive
     *     until the slot is removed or the VM closed
     * @param flags how KVM treats the slot; empty for plain RAM. {@link MemorySlotFlag#READONLY} is checked against
     *     this VM's answer for {@link Capability#READONLY_MEM}.
     * @throws IllegalArgumentException if the slot number, alignment or size is wrong, the range runs past the end of
     *     the 64-bit address space (KVM needs {@code guestPhysAddr + size}, unsigned, below 2^64), or the memory is on
     *     the heap
     * @throws KvmException if read-only slots are not supported, or KVM refuses the region (it overlaps another
     *     slot, the host range is not mapped, or it changes a slot in use in a way KVM does not allow)
     */
    public void setUserMemoryRegion(int slot, long guestPhysAddr, MemorySegment hostMemory, Set<MemorySlotFlag> flags) {
        Objects.requireNonNull(hostMemory, "hostMemory");
        Objects.requireNonNull(flags, "flags");
        if (slot < 0 || slot > 0xffff) {
            throw new IllegalArgumentException("memory slot must be in 0..65535, got " + slot);
        }
        if (!hostMemory.isNative()) {
            throw new IllegalArgumentException(
                    "guest memory must be native memory (mmap or Arena), not a heap segment");
        }
        long size = hostMemory.byteSize();
        if (size == 0
                || size % PAGE_SIZE != 0
                || hostMemory.address() % PAGE_SIZE != 0
                || guestPhysAddr % PAGE_SIZE != 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "memory slot %d must be page-aligned and not empty: guest %#x, host %#x, size %#x",
                    slot,
                    guestPhysAddr,
                    hostMemory.address(),
                    size));
        }
        if (Long.compareUnsigned(guestPhysAddr + size, guestPhysAddr) < 0) { // unsigned: KVM's end must fit in u64
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "memory slot %d at %#x of %#x bytes runs past the end of the 64-bit guest-physical address space",
                    slot,
                    guestPhysAddr,
                    size));
        }
        if (flags.contains(MemorySlotFlag.READONLY)) {
            requireCapability(Capability.READONLY_MEM, "KVM_SET_USER_MEMORY_REGION", "read-only memory slots");
        }
        synchronized (slots) {
            setRegion(
                    slot,
                    guestPhysAddr,
                    size,
                    hostMemory.address(),
                    MemorySlotFlag.bits(flags),
                    () -> String.format(
                            Locale.ROOT,
                            "slot %d [%#x, %#x) overlaps a memory slot already registered, or the host range is not mapped",
                            slot,
                            guestPhysAddr,
                            guestPhysAddr + size));
            slots.put(slot, hostMemory);
        }
    }

    /**
     * Removes memory slot {@code slot} from the guest.
     *
     * @param slot a slot registered with {@link #setUserMemoryRegion}; its host memory is no longer used after this
     * @throws IllegalArgumentException if the slot is not registered
     * @throws KvmException if KVM refuses to remove it; the slot then stays registered, its memory kept reachable
     */
    public void removeUserMemoryRegion(int slot) {
        synchronized (slots) {
            if (!slots.containsKey(slot)) {
                throw new IllegalArgumentException("memory slot " + slot + " is not registered");
            }
            setRegion(slot, 0, 0, 0, 0, () -> "removing memory slot " + slot);
            slots.remove(slot); // only now: while KVM maps the memory, this VM keeps it reachable
        }
    }

    /**
     * Refuses what this VM's KVM lacks, naming the capability. Asked of this VM, not of the {@link Kvm} that made it:
     * that may be closed by now, and an answer can differ per VM.
     */
    private void requireCapability(Capability capability, String ioctl, String what) {
        if (capabilities.applyAsInt(capability) <= 0) {
            throw new KvmException(ioctl, what + " need " + capability.kernelName() + ", which this host's KVM lacks");
        }
    }

    private void setRegion(
            int slot, long guestPhysAddr, long size, long userspaceAddr, int flags, Supplier<String> hint) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = arena.allocate(kvm_userspace_memory_region.layout());
            kvm_userspace_memory_region.slot(region, slot);
            kvm_userspace_memory_region.flags(region, flags);
            kvm_userspace_memory_region.guest_phys_addr(region, guestPhysAddr);
            kvm_userspace_memory_region.memory_size(region, size);
            kvm_userspace_memory_region.userspace_addr(region, userspaceAddr);
            KvmIoctl.KVM_SET_USER_MEMORY_REGION.call(fd.get(), region, hint);
        }
    }

    /**
     * {@return the pages of slot {@code slot} written since the last call, one bit per page, as
     * {@code KVM_GET_DIRTY_LOG} reports them} The slot must have {@link MemorySlotFlag#LOG_DIRTY_PAGES}.
     * Bit {@code n % 64} of word {@code n / 64} stands for the slot's page {@code n} (4 KiB pages, counted from the
     * slot's start).
     *
     * @param slot a slot registered with {@link #setUserMemoryRegion}
     * @throws IllegalArgumentException if the slot is not registered
     * @throws KvmException if the slot does not log dirty pages
     */
    public long[] getDirtyLog(int slot) {
        long size;
        synchronized (slots) {
            MemorySegment memory = slots.get(slot);
            if (memory == null) {
                throw new IllegalArgumentException("memory slot " + slot + " is not registered");
            }
            size = memory.byteSize();
        }
        long pages = size / PAGE_SIZE;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bitmap = arena.allocate(ValueLayout.JAVA_LONG, (pages + 63) / 64);
            MemorySegment log = arena.allocate(kvm_dirty_log.layout());
            kvm_dirty_log.slot(log, slot);
            kvm_dirty_log.dirty_bitmap(log, bitmap);
            KvmIoctl.KVM_GET_DIRTY_LOG.call(fd.get(), log, "slot " + slot + " must be registered with LOG_DIRTY_PAGES");
            return bitmap.toArray(ValueLayout.JAVA_LONG);
        }
    }

    // ---- interrupt controllers, timers, x86 addresses ------------------------------------------------------

    /** Creates the in-kernel interrupt controller (x86: PIC, IOAPIC and local APICs; aarch64 uses {@link #createDevice}). */
    public void createIrqchip() {
        KvmIoctl.KVM_CREATE_IRQCHIP.call(fd.get(), 0L, "create the irqchip before any vCPU, and only once");
    }

    /**
     * Copies the state of in-kernel irqchip {@code chipId} (0 PIC master, 1 PIC slave, 2 IOAPIC) into
     * {@code irqchip}, a {@code struct kvm_irqchip}.
     *
     * @param chipId which controller: 0 (PIC master), 1 (PIC slave) or 2 (IOAPIC); written to the struct's
     *     {@code chip_id}
     * @param irqchip a native {@code struct kvm_irqchip}, as {@code kvm_irqchip.allocate(arena)} makes it;
     *     overwritten
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void getIrqchip(int chipId, MemorySegment irqchip) {
        Structs.require(irqchip, kvm_irqchip.layout(), "struct kvm_irqchip");
        kvm_irqchip.chip_id(irqchip, chipId);
        KvmIoctl.KVM_GET_IRQCHIP.call(fd.get(), irqchip);
    }

    /**
     * Sets the state of the in-kernel irqchip named by {@code irqchip}'s {@code chip_id}.
     *
     * @param irqchip a native {@code struct kvm_irqchip} with {@code chip_id} and that controller's state, such as
     *     {@link #getIrqchip} filled in; read, not kept
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void setIrqchip(MemorySegment irqchip) {
        Structs.require(irqchip, kvm_irqchip.layout(), "struct kvm_irqchip");
        KvmIoctl.KVM_SET_IRQCHIP.call(fd.get(), irqchip);
    }

    /**
     * Creates the in-kernel i8254 PIT ({@code KVM_CREATE_PIT2}); {@code flags} may hold {@code KVM_PIT_SPEAKER_DUMMY}.
     *
     * @param flags 0, or {@code KVM_PIT_SPEAKER_DUMMY} to have KVM answer the PC speaker port (0x61) itself
     * @throws KvmException if there is no irqchip yet, or the PIT exists
     */
    public void createPit2(int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment config = arena.allocate(kvm_pit_config.layout());
            kvm_pit_config.flags(config, flags);
            KvmIoctl.KVM_CREATE_PIT2.call(fd.get(), config, "create the irqchip first, and the PIT only once");
        }
    }

    /**
     * Copies the PIT state into {@code pitState}, a {@code struct kvm_pit_state2}.
     *
     * @param pitState a native {@code struct kvm_pit_state2}, as {@code kvm_pit_state2.allocate(arena)} makes it;
     *     overwritten
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void getPit2(MemorySegment pitState) {
        Structs.require(pitState, kvm_pit_state2.layout(), "struct kvm_pit_state2");
        KvmIoctl.KVM_GET_PIT2.call(fd.get(), pitState);
    }

    /**
     * Sets the PIT state from {@code pitState}, a {@code struct kvm_pit_state2}.
     *
     * @param pitState a native {@code struct kvm_pit_state2}, such as {@link #getPit2} filled in; read, not kept
     * @throws IllegalArgumentException if the segment is on the heap, smaller than the struct or not aligned for it
     */
    public void setPit2(MemorySegment pitState) {
        Structs.require(pitState, kvm_pit_state2.layout(), "struct kvm_pit_state2");
        KvmIoctl.KVM_SET_PIT2.call(fd.get(), pitState);
    }

    /**
     * Sets the guest-physical address of the three pages Intel VMX needs for the real-mode TSS (x86).
     *
     * @param guestPhysAddr where the three pages go: below 4 GiB, outside guest RAM and any MMIO range
     * @throws KvmException if KVM refuses the address
     */
    public void setTssAddress(long guestPhysAddr) {
        KvmIoctl.KVM_SET_TSS_ADDR.call(
                fd.get(), guestPhysAddr, "the address must be below 4 GiB and outside guest RAM");
    }

    /**
     * Sets the guest-physical address of the page Intel VMX needs for the real-mode identity map (x86).
     *
     * @param guestPhysAddr where the page goes: outside guest RAM and any MMIO range, such as just below the TSS
     *     pages of {@link #setTssAddress}
     * @throws KvmException if a vCPU already exists
     */
    public void setIdentityMapAddress(long guestPhysAddr) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = arena.allocateFrom(ValueLayout.JAVA_LONG, guestPhysAddr);
            KvmIoctl.KVM_SET_IDENTITY_MAP_ADDR.call(fd.get(), address, "set it before creating vCPUs");
        }
    }

    /** {@return the guest's kvmclock in nanoseconds ({@code KVM_GET_CLOCK})} */
    public long getClock() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment clock = arena.allocate(kvm_clock_data.layout());
            KvmIoctl.KVM_GET_CLOCK.call(fd.get(), clock);
            return kvm_clock_data.clock(clock);
        }
    }

    /**
     * Sets the guest's kvmclock to {@code nanoseconds} ({@code KVM_SET_CLOCK}).
     *
     * @param nanoseconds the clock's new value, in nanoseconds, such as {@link #getClock()} returned before a pause
     */
    public void setClock(long nanoseconds) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment clock = arena.allocate(kvm_clock_data.layout());
            kvm_clock_data.clock(clock, nanoseconds);
            KvmIoctl.KVM_SET_CLOCK.call(fd.get(), clock);
        }
    }

    // ---- interrupts -----------------------------------------------------------------------------------------

    /**
     * Raises ({@code active}) or lowers interrupt line {@code irq} of the in-kernel irqchip ({@code KVM_IRQ_LINE}).
     *
     * @param irq the GSI on x86; on aarch64 the encoded type, vCPU and interrupt number the KVM API document gives
     * @param active true to raise the line, false to lower it; an edge needs both
     * @throws KvmException if there is no irqchip, or {@code irq} is not valid
     */
    public void setIrqLine(int irq, boolean active) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment level = arena.allocate(kvm_irq_level.layout());
            kvm_irq_level.irq(level, irq);
            kvm_irq_level.level(level, active ? 1 : 0);
            KvmIoctl.KVM_IRQ_LINE.call(
                    fd.get(), level, "create the irqchip first; irq " + irq + " must be a valid GSI");
        }
    }

    /**
     * Makes a write to {@code event} inject an edge on {@code gsi} ({@code KVM_IRQFD}).
     *
     * @param event the eventfd a device writes to interrupt; KVM holds its own reference until unregistered
     * @param gsi the global system interrupt, routed (by default, or with {@link #setGsiRouting})
     * @throws KvmException if there is no irqchip, or {@code event} is already registered
     */
    public void registerIrqfd(EventFd event, int gsi) {
        irqfd(event.fd(), gsi, 0, -1, "create the irqchip first; gsi " + gsi + " must be routed, and registered once");
    }

    /**
     * Makes a write to {@code event} raise level-triggered {@code gsi}, which KVM lowers when the guest
     * acknowledges it, signalling {@code resample} so the device can raise it again if still pending.
     *
     * @param event the eventfd a device writes to raise the line; KVM holds its own reference until unregistered
     * @param resample the eventfd KVM writes when the guest acknowledges the interrupt
     * @param gsi the global system interrupt, routed to an irqchip pin (not an MSI)
     * @throws KvmException if KVM lacks {@link Capability#IRQFD_RESAMPLE}, or {@code gsi} has no irqchip route
     */
    public void registerIrqfdWithResample(EventFd event, EventFd resample, int gsi) {
        irqfd(
                event.fd(),
                gsi,
                LinuxHeaders.KVM_IRQFD_FLAG_RESAMPLE(),
                resample.fd(),
                "resampling needs KVM_CAP_IRQFD_RESAMPLE and an irqchip route for gsi " + gsi);
    }

    /**
     * Undoes {@link #registerIrqfd} or {@link #registerIrqfdWithResample}.
     *
     * @param event the eventfd that was registered
     * @param gsi the GSI it was registered for
     * @throws KvmException if KVM refuses to deassign it
     */
    public void unregisterIrqfd(EventFd event, int gsi) {
        irqfd(event.fd(), gsi, LinuxHeaders.KVM_IRQFD_FLAG_DEASSIGN(), -1, "it was not registered for gsi " + gsi);
    }

    private void irqfd(int eventFd, int gsi, int flags, int resampleFd, String hint) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment irqfd = arena.allocate(kvm_irqfd.layout());
            kvm_irqfd.fd(irqfd, eventFd);
            kvm_irqfd.gsi(irqfd, gsi);
            kvm_irqfd.flags(irqfd, flags);
            if (resampleFd >= 0) {
                kvm_irqfd.resamplefd(irqfd, resampleFd);
            }
            KvmIoctl.KVM_IRQFD.call(fd.get(), irqfd, hint);
        }
    }

    /**
     * Makes a guest write to {@code address} that {@code datamatch} accepts signal {@code event} inside KVM,
     * without an exit to userspace ({@code KVM_IOEVENTFD}).
     *
     * @param event the eventfd KVM writes; KVM holds its own reference until unregistered
     * @param address the port or guest-physical MMIO address of the register
     * @param datamatch which writes there count; {@link Datamatch#any()} needs {@link Capability#IOEVENTFD_ANY_LENGTH}
     * @throws KvmException if KVM refuses it, for example because the same range and datamatch are registered, or
     *     lacks {@link Capability#IOEVENTFD_ANY_LENGTH} for a match of any length
     */
    public void registerIoevent(EventFd event, IoEventAddress address, Datamatch datamatch) {
        ioevent(event, address, datamatch, 0, "the range may already have an ioeventfd with this datamatch");
    }

    /**
     * Undoes {@link #registerIoevent} with the same arguments.
     *
     * @param event the eventfd that was registered
     * @param address the address it was registered at
     * @param datamatch the match it was registered with
     * @throws KvmException if no such ioeventfd is registered
     */
    public void unregisterIoevent(EventFd event, IoEventAddress address, Datamatch datamatch) {
        ioevent(
                event,
                address,
                datamatch,
                LinuxHeaders.KVM_IOEVENTFD_FLAG_DEASSIGN(),
                "no such ioeventfd is registered");
    }

    private void ioevent(EventFd event, IoEventAddress address, Datamatch datamatch, int extraFlags, String hint) {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(datamatch, "datamatch");
        if (extraFlags == 0 && datamatch.length() == 0) { // registering a zero-length ioeventfd
            requireCapability(
                    Capability.IOEVENTFD_ANY_LENGTH,
                    "KVM_IOEVENTFD",
                    "ioeventfds that match a write of any length (Datamatch.any())");
        }
        int flags = extraFlags;
        if (address instanceof IoEventAddress.Pio) {
            flags |= LinuxHeaders.KVM_IOEVENTFD_FLAG_PIO();
        }
        if (datamatch.matchValue()) {
            flags |= LinuxHeaders.KVM_IOEVENTFD_FLAG_DATAMATCH();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ioeventfd = arena.allocate(kvm_ioeventfd.layout());
            kvm_ioeventfd.datamatch(ioeventfd, datamatch.value());
            kvm_ioeventfd.addr(ioeventfd, address.address());
            kvm_ioeventfd.len(ioeventfd, datamatch.length());
            kvm_ioeventfd.fd(ioeventfd, event.fd());
            kvm_ioeventfd.flags(ioeventfd, flags);
            KvmIoctl.KVM_IOEVENTFD.call(
                    fd.get(),
                    ioeventfd,
                    () -> String.format(
                            Locale.ROOT,
                            "%s at %#x: %s",
                            address instanceof IoEventAddress.Pio ? "port" : "MMIO",
                            address.address(),
                            hint));
        }
    }

    /**
     * Replaces the whole GSI routing table ({@code KVM_SET_GSI_ROUTING}).
     *
     * @param routes every route, in any order, at most {@link Capability#IRQ_ROUTING}'s answer; a GSI may have one
     *     route per irqchip (then it drives them all), or a single MSI route. GSIs not listed lose their routes, the
     *     default ones included.
     * @throws KvmException if KVM refuses a route, or there is no irqchip for irqchip routes
     */
    public void setGsiRouting(List<IrqRoute> routes) {
        Objects.requireNonNull(routes, "routes");
        try (Arena arena = Arena.ofConfined()) {
            long entrySize = kvm_irq_routing_entry.sizeof();
            MemorySegment table = arena.allocate(
                    kvm_irq_routing.entries$offset() + routes.size() * entrySize,
                    kvm_irq_routing.layout().byteAlignment());
            kvm_irq_routing.nr(table, routes.size());
            for (int i = 0; i < routes.size(); i++) {
                MemorySegment entry =
                        table.asSlice(kvm_irq_routing.entries$offset() + i * entrySize, kvm_irq_routing_entry.layout());
                IrqRoute route = Objects.requireNonNull(routes.get(i), "route");
                kvm_irq_routing_entry.gsi(entry, route.gsi());
                MemorySegment u = kvm_irq_routing_entry.u(entry);
                switch (route) {
                    case IrqRoute.Irqchip chip -> {
                        kvm_irq_routing_entry.type(entry, LinuxHeaders.KVM_IRQ_ROUTING_IRQCHIP());
                        MemorySegment irqchip = kvm_irq_routing_entry.u.irqchip(u);
                        kvm_irq_routing_irqchip.irqchip(irqchip, chip.irqchip());
                        kvm_irq_routing_irqchip.pin(irqchip, chip.pin());
                    }
                    case IrqRoute.Msi msi -> {
                        kvm_irq_routing_entry.type(entry, LinuxHeaders.KVM_IRQ_ROUTING_MSI());
                        if (msi.validDevid()) {
                            kvm_irq_routing_entry.flags(entry, LinuxHeaders.KVM_MSI_VALID_DEVID());
                        }
                        MemorySegment m = kvm_irq_routing_entry.u.msi(u);
                        kvm_irq_routing_msi.address_lo(m, (int) msi.address());
                        kvm_irq_routing_msi.address_hi(m, (int) (msi.address() >>> 32));
                        kvm_irq_routing_msi.data(m, msi.data());
                        kvm_irq_routing_msi.devid(m, msi.devid());
                    }
                }
            }
            KvmIoctl.KVM_SET_GSI_ROUTING.call(
                    fd.get(), table, "each GSI needs a valid route, and an irqchip for irqchip routes");
        }
    }

    /**
     * Sends one message-signalled interrupt.
     *
     * @param address the 64-bit MSI address (on x86, {@code 0xfee0_0000} with the destination APIC id in bits 12 to
     *     19)
     * @param data the 32-bit MSI data (on x86, the vector and delivery mode)
     * @return whether the guest took it (false: it was blocked)
     * @throws KvmException if KVM lacks {@link Capability#SIGNAL_MSI} or there is no irqchip
     */
    public boolean signalMsi(long address, int data) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment msi = arena.allocate(kvm_msi.layout());
            kvm_msi.address_lo(msi, (int) address);
            kvm_msi.address_hi(msi, (int) (address >>> 32));
            kvm_msi.data(msi, data);
            return KvmIoctl.KVM_SIGNAL_MSI.call(fd.get(), msi, "needs KVM_CAP_SIGNAL_MSI and an irqchip") > 0;
        }
    }

    // ---- aarch64 --------------------------------------------------------------------------------------------

    /**
     * {@return the vCPU target this host's KVM prefers ({@code KVM_ARM_PREFERRED_TARGET}), for {@link Vcpu#armInit}}
     * aarch64 only.
     */
    public int armPreferredTarget() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment init = arena.allocate(kvm_vcpu_init.layout());
            KvmIoctl.KVM_ARM_PREFERRED_TARGET.call(fd.get(), init, "aarch64 KVM only");
            return kvm_vcpu_init.target(init);
        }
    }

    // ---- vCPUs and devices ----------------------------------------------------------------------------------

    /**
     * Creates vCPU {@code id}; closing this VM closes it too.
     *
     * @param id the vCPU id, not negative and below {@link Capability#MAX_VCPU_ID}; on x86, the initial APIC id
     * @return the vCPU, with its {@code kvm_run} mapped
     * @throws IllegalArgumentException if {@code id} is negative
     * @throws KvmException if the id exists or is above KVM's limit, or (on aarch64) the GIC is already initialised
     */
    public Vcpu createVcpu(int id) {
        if (id < 0) {
            throw new IllegalArgumentException("vcpu id must not be negative, got " + id);
        }
        int vcpuFd = KvmIoctl.KVM_CREATE_VCPU.call(
                fd.get(),
                id,
                "vcpu " + id + " already exists, or the id is above "
                        + "KVM's limit (KVM_CAP_MAX_VCPU_ID), or the irqchip was created after vCPUs");
        Vcpu vcpu = new Vcpu(id, new OwnedFd(vcpuFd, "vcpu " + id), kvm.vcpuMmapSize());
        synchronized (children) {
            children.add(vcpu);
        }
        return vcpu;
    }

    /**
     * Creates an in-kernel device of {@code type} ({@code KVM_DEV_TYPE_*}, such as aarch64's GIC); closing this VM
     * closes it.
     *
     * @param type a {@code KVM_DEV_TYPE_*} value, such as {@code KVM_DEV_TYPE_ARM_VGIC_V3}
     * @return the device, to configure through its attributes
     * @throws KvmException if KVM on this host cannot create that type, or one exists that may exist only once
     */
    public KvmDevice createDevice(int type) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment create = arena.allocate(kvm_create_device.layout());
            kvm_create_device.type(create, type);
            KvmIoctl.KVM_CREATE_DEVICE.call(fd.get(), create, "KVM on this host cannot create device type " + type);
            KvmDevice device =
                    new KvmDevice(type, new OwnedFd(kvm_create_device.fd(create), "KVM device type " + type));
            synchronized (children) {
                children.add(device);
            }
            return device;
        }
    }

    /**
     * {@return whether KVM can create a device of {@code type}, asked with {@code KVM_CREATE_DEVICE_TEST}} Nothing
     * is created.
     *
     * @param type a {@code KVM_DEV_TYPE_*} value
     */
    public boolean supportsDevice(int type) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment create = arena.allocate(kvm_create_device.layout());
            kvm_create_device.type(create, type);
            kvm_create_device.flags(create, LinuxHeaders.KVM_CREATE_DEVICE_TEST());
            return KvmIoctl.KVM_CREATE_DEVICE.raw(fd.get(), create) >= 0;
        }
    }

    /**
     * Closes the vCPUs and devices this VM created, then the VM. Every vCPU thread must have left {@link Vcpu#run()}.
     */
    @Override
    public void close() {
        List<AutoCloseable> toClose;
        synchronized (children) {
            toClose = new ArrayList<>(children);
            children.clear();
        }
        RuntimeException failure = null;
        for (AutoCloseable child : toClose.reversed()) {
            try {
                child.close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = new IllegalStateException("closing VM: " + e.getMessage(), e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        fd.close();
        synchronized (slots) {
            slots.clear();
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public String toString() {
        return "Vm[" + fd + "]";
    }
}
