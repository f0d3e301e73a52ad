// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.guests;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The test guests built from {@code guests/src/main/c}: ELF executables linked at 2 MiB, entered in 64-bit mode as a
 * Linux kernel is ({@code rsi} = boot_params), that talk over COM1 and end the VM through the i8042 reset.
 */
public enum Guests {
    /** Writes 0x55 to port 0x80 (a POST code), prints "hello from a vmm4j guest" and resets. */
    HELLO("hello"),
    /** Checks boot_params, e820, the command line (it must hold "bootcheck=1"), CPUID and the MP table from inside. */
    BOOTCHECK("bootcheck"),
    /** Triple-faults: empty IDT, then a division by zero. */
    TRIPLE_FAULT("triple_fault"),
    /** Prints "spin: spinning" and never stops by itself. */
    SPIN("spin"),
    /** Executes xgetbv, which an emulating KVM cannot run. */
    UNSUPPORTED("unsupported"),
    /** Starts vCPU 1 with INIT and a start-up IPI, and prints "smp: ap 1 started" when it runs. */
    SMP("smp"),
    /**
     * Drives the virtio-mmio devices on its command line with a polling driver: a block device's sectors 0-1 are read,
     * written back inverted, flushed and read again, then GET_ID and a read past the end; an rng gives 16 bytes.
     * Prints "virtio: ..." lines and "virtio: done". With "virtio.blk_loop" on its command line it then writes 1 KiB to
     * the block device forever, 64 KiB past the last write each time (a new qcow2 cluster each, until they wrap),
     * printing "virtio: blk loop N" every 16 writes: for tests that kill a device mid-I/O.
     */
    VIRTIO("virtio"),
    /**
     * The demo guest simple-vmm boots without a kernel: prints its memory map, command line and virtio devices, the
     * first disk's first bytes, 16 bytes from the rng and the balloon's target, then resets; with "demo.wait" on the
     * command line it follows the balloon's target until the host stops it.
     */
    DEMO("demo"),
    /**
     * Two vCPUs and a block device: vCPU 1 loops reading the device's InterruptStatus (MMIO) and writing it to port 0x80;
     * vCPU 0 posts a read, waits until the host writes 1 to the mailbox at {@link #MAILBOX}, resets the device and prints
     * "reset_during_io: reset done, status 0" when that write returns.
     */
    RESET_DURING_IO("reset_during_io"),
    /**
     * Executes int3 (with an IDT whose breakpoint handler counts) and fwait, which an emulating KVM rejects: prints
     * "assists: int3 trapped to the guest's handler 1 time(s)" and "assists: fwait passed".
     */
    ASSISTS("assists"),
    /**
     * Executes syscall from ring 3: prints "syscall_probe: entered ring 0" where KVM can run user space, or
     * "syscall_probe: FAIL still in ring 3 at LSTAR" (or faults) where it cannot.
     */
    SYSCALL_PROBE("syscall_probe"),
    /**
     * A polling virtio-net driver: takes its address and the host's from "net.ip=A.B.C.D" and "net.host=A.B.C.D" on the
     * command line, its MAC from the device (or 52:54:00:12:34:56), ARPs for the host ("net: arp reply from ... is-at
     * ...") and pings it three times ("net: ping seq N reply from ... ttl T bytes 64"), answering ARP requests for its
     * address meanwhile. Prints "net: done", or a "net: FAIL ..." line per failure.
     */
    NET_PING("net_ping"),
    /**
     * Powers the machine off through ACPI as Linux does on a hardware-reduced machine (the DSDT's {@code \_S5} sleep
     * type with SLP_EN to the FADT's sleep control register), after printing what it found ("poweroff: ..." lines);
     * "poweroff: FAIL still running" and a reset if the VM did not end.
     */
    POWEROFF("poweroff"),
    /**
     * A polling virtio-vsock driver (device type 19) that never stops by itself: prints "vsock: cid N" (from the
     * device's configuration), connects to the host's port 5000 from guest port 1024 ("vsock: connecting to host port
     * 5000"), and serves a stream echo on port 1234 ("vsock: listening on 1234") for up to 128 connections at once, each
     * granting the host a 32 KiB buf_alloc. Port 5000 gets "hello from cid N\n" and a SHUTDOWN of both directions once
     * the host's RESPONSE arrives ("vsock: connected to host port 5000"); the host's RST then prints "vsock: closed host
     * port 5000" (before the RESPONSE: "vsock: host port 5000 refused"; after it but before our SHUTDOWN: "vsock: host
     * port 5000 reset"). An echo connection sends back every byte, in order and within the host's credit; after the
     * host's SHUTDOWN it finishes echoing, sends SHUTDOWN (both directions) and forgets the connection at the host's
     * RST, printing "vsock: echo connections served N" for the first and every tenth such clean close. A host that
     * sends beyond its credit is reset ("vsock: credit violation on PORT"); a malformed packet, a REQUEST to another
     * port or a packet for an unknown connection is answered with RST, the first with "vsock: bad packet: WHY on PORT"
     * (PORT is always the host's).
     */
    VSOCK_ECHO("vsock_echo");

    /** The guest-physical address of the word {@link #RESET_DURING_IO} waits on. */
    public static final long MAILBOX = 0xf000;

    private final String file;

    Guests(String file) {
        this.file = file + ".elf";
    }

    /** {@return the guest's ELF image} */
    public byte[] elf() {
        return resource(file);
    }

    /** {@return the built program {@code file} from the guests jar} */
    static byte[] resource(String file) {
        try (InputStream in = Guests.class.getResourceAsStream(file)) {
            if (in == null) {
                throw new IllegalStateException(
                        "guest " + file + " is not in the guests jar: was it built with gcc and make?");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading guest " + file, e);
        }
    }
}
