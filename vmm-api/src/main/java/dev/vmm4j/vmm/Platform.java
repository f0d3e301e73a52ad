package dev.vmm4j.vmm;

import dev.vmm4j.vmm.bus.Bus;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.memory.GuestMemory;
import dev.vmm4j.vmm.resources.SystemAllocator;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Optional;

/**
 * What an architecture gets to put its platform devices on: the VM and its memory, the buses, the resource allocator, the console
 * streams the embedder chose, a way to end the VM as a guest reset, and a list where it leaves what the VM must
 * close when it ends.
 */
public record Platform(Vm vm, GuestMemory memory, Bus ioBus, Bus mmioBus, SystemAllocator allocator, OutputStream serialOutput,
        Optional<InputStream> serialInput, Runnable guestReset, List<AutoCloseable> resources) {}
